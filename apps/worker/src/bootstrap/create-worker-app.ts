import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { StepHandlerDefinition } from '#core';
import { WorkerModule } from '../worker.module.js';

/** The worker app (health endpoints + step consumption), for `main.ts` and the e2e tests. */
export async function createWorkerApp(
  handlers: readonly StepHandlerDefinition[],
  options: { logger?: false | ('error' | 'warn' | 'log')[] } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot({ handlers }), {
    logger: options.logger ?? ['error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  return app;
}
