import type { MessageEnvelope } from '#contracts';

/** A message taken from a queue; hand it back with ack/nack/deadLetter. */
export interface ReceivedMessage {
  /** Adapter-specific id, opaque to callers. */
  readonly id: string;
  readonly queue: string;
  /** The raw body: validate it before trusting it (it may be malformed). */
  readonly body: unknown;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly enqueuedAt: Date;
}

export interface ReceiveOptions {
  maxMessages: number;
  /** How long a received message stays invisible to others before it is redelivered. */
  visibilityTimeoutMs: number;
}

export interface MessageBusCapabilities {
  /** True when the broker does not push, so consumers must poll (or listen for notifications). */
  readonly needsFallbackPolling: boolean;
}

/**
 * The messaging port (ARCHITECTURE §5). Nothing outside the adapters knows which broker runs.
 * Messages carry identifiers only; consumers re-read state from the database.
 */
export abstract class MessageBus {
  abstract readonly capabilities: MessageBusCapabilities;
  abstract ensureQueue(queue: string): Promise<void>;
  abstract send(
    queue: string,
    message: MessageEnvelope,
    options?: { delayMs?: number },
  ): Promise<void>;
  abstract sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options?: { delayMs?: number },
  ): Promise<void>;
  abstract receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Done with the message: it will not be delivered again. */
  abstract ack(message: ReceivedMessage): Promise<void>;
  /** Give the message back for redelivery after `delayMs` (0 = now). */
  abstract nack(message: ReceivedMessage, options?: { delayMs?: number }): Promise<void>;
  /** Move a message that can never be processed out of the way, keeping it for inspection. */
  abstract deadLetter(message: ReceivedMessage, reason: string): Promise<void>;
  /** Messages waiting (visible or not) in a queue. */
  abstract depth(queue: string): Promise<number>;
}
