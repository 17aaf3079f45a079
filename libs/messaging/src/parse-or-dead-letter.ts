import type { Logger } from '@nestjs/common';
import type { MessageEnvelope, MessageType } from '#contracts';
import { parseMessage } from '#contracts';
import type { MessageBus, ReceivedMessage } from '#core';

/**
 * Validates a received message as `type`. A message that fails validation can never be
 * processed, so it goes to the dead-letter queue (not back for a retry) and null is returned.
 */
export async function parseOrDeadLetter<T extends MessageType>(
  bus: MessageBus,
  message: ReceivedMessage,
  type: T,
  logger: Logger,
): Promise<MessageEnvelope<T> | null> {
  const parsed = parseMessage(message.body, type);
  if (parsed.ok) return parsed.message;
  logger.warn(`dead-lettering message ${message.id} from ${message.queue}: ${parsed.error}`);
  await bus.deadLetter(message, parsed.error);
  return null;
}
