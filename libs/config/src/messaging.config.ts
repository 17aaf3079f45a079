import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import { configSource, type ConfigValues } from './config-source.js';

export const MESSAGING_BACKENDS = ['pgmq'] as const;
export type MessagingBackend = (typeof MESSAGING_BACKENDS)[number];

export interface MessagingConfig {
  backend: MessagingBackend;
  /** Pause between reads of an empty queue. */
  pollIntervalMs: number;
  /** Messages read per poll. */
  batchSize: number;
}

export function parseMessagingConfig(values: ConfigValues): MessagingConfig {
  const read = new ConfigReader(values);
  return read.done({
    backend: read.enumValue('TASKER_MESSAGING_BACKEND', MESSAGING_BACKENDS, 'pgmq'),
    pollIntervalMs: read.integer('TASKER_POLL_INTERVAL_MS', 100, 5, 60000),
    batchSize: read.integer('TASKER_BATCH_SIZE', 20, 1, 1000),
  });
}

export const messagingConfig = registerAs('messaging', () => parseMessagingConfig(configSource()));
