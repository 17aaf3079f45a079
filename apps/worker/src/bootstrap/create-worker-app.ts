import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { messagingConfig, workerConfig } from '#config';
import type { StepHandlerDefinition } from '#core';
import { startTaskerTransport } from '#messaging';
import { TaskerMetrics } from '#observability';
import { MESSAGES_PER_HANDLER_SLOT } from '../services/step-executor.service.js';
import { toHandlerDefinitions } from '../tasker-core/adapter.js';
import type { StepHandlerClass } from '../tasker-core/handlers.js';
import { WorkerQueues } from '../services/worker-queues.js';
import { WorkerModule } from '../worker.module.js';

/**
 * The worker app for `main.ts` and the e2e tests: initialised, consuming its namespace queues
 * through the Tasker transport; the caller only adds the HTTP listener for health. `handlers`
 * are our definitions and Tasker Core handler classes (`tasker/tasker-core`), side by side.
 */
export async function createWorkerApp(
  handlers: readonly (StepHandlerDefinition | StepHandlerClass)[],
  options: { logger?: LoggerService | false | ('error' | 'warn' | 'log' | 'debug')[] } = {},
): Promise<INestApplication> {
  const definitions = toHandlerDefinitions(handlers);
  const app = await NestFactory.create(WorkerModule.forRoot({ handlers: definitions }), {
    logger: options.logger ?? ['error', 'warn', 'log'],
  });
  // A boot that fails (an invalid template, say) closes what it opened: pools, connections.
  await app.init().catch(async (err: unknown) => {
    await app.close().catch(() => undefined);
    throw err;
  });
  const worker = app.get<ReturnType<typeof workerConfig>>(workerConfig.KEY);
  const messaging = app.get<ReturnType<typeof messagingConfig>>(messagingConfig.KEY);
  await startTaskerTransport(app, {
    onDeadLetter: (queue) => app.get(TaskerMetrics).messageDeadLettered(queue),
    queues: app.get(WorkerQueues).queues,
    prefetch: worker.concurrency * MESSAGES_PER_HANDLER_SLOT,
    visibilityTimeoutMs: worker.stepVisibilityTimeoutMs,
    shutdownGraceMs: messaging.shutdownGraceMs,
    maxDeliveries: messaging.maxDeliveries,
  });
  return app;
}
