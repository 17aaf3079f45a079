import { BaseRpcContext } from '@nestjs/microservices';
import type { MessageEnvelope } from '#contracts';
import type { ReceivedMessage } from '#core';

/**
 * What a Tasker message handler gets with `@Ctx()`: the broker message and its validated
 * envelope, and ways to settle it otherwise than by the ack that follows a normal return.
 */
export class TaskerContext extends BaseRpcContext<[ReceivedMessage, MessageEnvelope, AbortSignal]> {
  private redeliveryDelayMs: number | undefined;
  private deadLetterReason: string | undefined;
  private consumed = false;

  get message(): ReceivedMessage {
    return this.args[0];
  }

  get envelope(): MessageEnvelope {
    return this.args[1];
  }

  /**
   * Aborted when the process is stopping and the shutdown grace period has run out: a handler
   * still working should give its work back (and ask for redelivery) instead of finishing.
   */
  get shutdownSignal(): AbortSignal {
    return this.args[2];
  }

  /** Do not ack when the handler returns: deliver the message again after `delayMs`. */
  redeliverAfter(delayMs: number): void {
    this.redeliveryDelayMs = Math.max(0, delayMs);
  }

  /** Do not ack when the handler returns: the message can never be processed, dead-letter it. */
  deadLetter(reason: string): void {
    this.deadLetterReason = reason;
  }

  /**
   * Do not ack when the handler returns: its transaction deleted the message (PGMQ, see
   * MessageBus.rowOf), committed with the state it caused.
   */
  consumedInTransaction(): void {
    this.consumed = true;
  }

  get wasConsumed(): boolean {
    return this.consumed;
  }

  get requestedRedeliveryMs(): number | undefined {
    return this.redeliveryDelayMs;
  }

  get requestedDeadLetter(): string | undefined {
    return this.deadLetterReason;
  }
}
