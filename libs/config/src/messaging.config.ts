import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import type { ConfigRecorder } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv } from './tasker-env.js';

export const MESSAGING_BACKENDS = ['pgmq', 'rabbitmq'] as const;
export type MessagingBackend = (typeof MESSAGING_BACKENDS)[number];

export const EVENT_MODES = ['Hybrid', 'EventDrivenOnly', 'PollingOnly'] as const;
export type EventMode = (typeof EVENT_MODES)[number];

export interface PgmqEventsConfig {
  mode: EventMode;
  /** PollingOnly: pause between reads of an empty queue. */
  pollIntervalMs: number;
  /** Hybrid: pause between fallback polls. */
  fallbackPollIntervalMs: number;
  /** Hybrid: fallback polls take only messages enqueued at least this long ago. */
  fallbackPollMinAgeMs: number;
}

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
  /** How PGMQ consumers learn about messages; RabbitMQ pushes and ignores it. */
  events: PgmqEventsConfig;
  /** Results orchestration processes at once. */
  batchSize: number;
  /** At shutdown: how long handlers in flight may finish before their messages are released. */
  shutdownGraceMs: number;
  /** Deliveries of one message before it goes to its dead-letter queue instead of coming back. */
  maxDeliveries: number;
  /** Present only when backend is rabbitmq. */
  rabbitmq: RabbitMqConfig | undefined;
}

export function parseMessagingConfig(
  values: ConfigValues,
  recorder?: ConfigRecorder,
): MessagingConfig {
  const read = new ConfigReader(values, recorder);
  const backend = read.enumValue('TASKER_MESSAGING_BACKEND', MESSAGING_BACKENDS, 'pgmq');
  const env = readTaskerEnv(read);
  const rabbitFallback = env === 'production' ? undefined : 'amqp://guest:guest@127.0.0.1:5672';
  return read.done({
    backend,
    events: {
      mode: read.enumValue('TASKER_EVENT_MODE', EVENT_MODES, 'Hybrid'),
      pollIntervalMs: read.integer('TASKER_POLL_INTERVAL_MS', 100, 5, 60000),
      fallbackPollIntervalMs: read.integer('TASKER_FALLBACK_POLL_INTERVAL_MS', 1000, 10, 600000),
      fallbackPollMinAgeMs: read.integer('TASKER_FALLBACK_POLL_MIN_AGE_MS', 2000, 0, 3600000),
    },
    batchSize: read.integer('TASKER_BATCH_SIZE', 100, 1, 1000),
    shutdownGraceMs: read.integer('TASKER_SHUTDOWN_GRACE_MS', 30000, 0, 3600000),
    maxDeliveries: read.integer('TASKER_MAX_DELIVERIES', 10, 1, 1000),
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
