import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv } from './tasker-env.js';

export const MESSAGING_BACKENDS = ['pgmq', 'rabbitmq'] as const;
export type MessagingBackend = (typeof MESSAGING_BACKENDS)[number];

export interface RabbitMqConfig {
  url: string;
  /** First pause before reconnecting; doubles (with jitter) up to the max. */
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** How long a send waits for a (re)connection before it fails. */
  operationTimeoutMs: number;
}

export interface MessagingConfig {
  backend: MessagingBackend;
  /** Pause between reads of an empty queue (pulling backends). */
  pollIntervalMs: number;
  /** Messages read per poll. */
  batchSize: number;
  /** Present only when backend is rabbitmq. */
  rabbitmq: RabbitMqConfig | undefined;
}

export function parseMessagingConfig(values: ConfigValues): MessagingConfig {
  const read = new ConfigReader(values);
  const backend = read.enumValue('TASKER_MESSAGING_BACKEND', MESSAGING_BACKENDS, 'pgmq');
  const env = readTaskerEnv(read);
  const rabbitFallback = env === 'production' ? undefined : 'amqp://guest:guest@127.0.0.1:5672';
  return read.done({
    backend,
    pollIntervalMs: read.integer('TASKER_POLL_INTERVAL_MS', 100, 5, 60000),
    batchSize: read.integer('TASKER_BATCH_SIZE', 20, 1, 1000),
    rabbitmq:
      backend === 'rabbitmq'
        ? {
            url: read.secretUrl('RABBITMQ_URL', ['amqp:', 'amqps:'], rabbitFallback),
            reconnectInitialMs: read.integer(
              'TASKER_RABBITMQ_RECONNECT_INITIAL_MS',
              100,
              10,
              60000,
            ),
            reconnectMaxMs: read.integer('TASKER_RABBITMQ_RECONNECT_MAX_MS', 5000, 100, 300000),
            operationTimeoutMs: read.integer(
              'TASKER_RABBITMQ_OPERATION_TIMEOUT_MS',
              15000,
              100,
              600000,
            ),
          }
        : undefined,
  });
}

export const messagingConfig = registerAs('messaging', () => parseMessagingConfig(configSource()));
