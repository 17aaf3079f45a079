import { type INestApplication, type LoggerService, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { messagingConfig, orchestrationConfig } from '#config';
import { ORCHESTRATION_STEP_RESULTS_QUEUE } from '#contracts';
import { startTaskerTransport } from '#messaging';
import { TaskerMetrics } from '#observability';
import { DomainErrorFilter } from '../http/domain-error.filter.js';
import { assertJsonDepth } from '../http/json-depth.js';
import { createOpenApiDocument } from '../http/openapi.js';
import { StorableInputPipe } from '../http/storable-input.pipe.js';
import { OrchestrationModule } from '../orchestration.module.js';

/**
 * The orchestration HTTP app, initialised and consuming step results, configured the same way for `main.ts` and for the e2e tests:
 * strict validation (unknown fields are a 400), domain errors mapped, OpenAPI at /docs.
 * The caller only adds the HTTP listener.
 */
export async function createOrchestrationApp(
  options: { logger?: LoggerService | false | ('error' | 'warn' | 'log' | 'debug')[] } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(OrchestrationModule, {
    logger: options.logger ?? ['error', 'warn', 'log'],
    // Registered below with an explicit size limit.
    bodyParser: false,
  });
  // Paths match exactly as declared (Express would match /V1/TASKS too). Set before anything
  // touches Express's router: it copies these settings when it is created.
  app.set('case sensitive routing', true);
  app.useBodyParser('json', {
    limit: '1mb',
    verify: (_req: unknown, _res: unknown, body: Buffer) => assertJsonDepth(body),
  });
  app.useGlobalPipes(
    new StorableInputPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
  );
  app.useGlobalFilters(new DomainErrorFilter());
  SwaggerModule.setup('docs', app, createOpenApiDocument(app));
  // A boot that fails (an invalid template, say) closes what it opened: pools, connections.
  await app.init().catch(async (err: unknown) => {
    await app.close().catch(() => undefined);
    throw err;
  });
  const orchestration = app.get<ReturnType<typeof orchestrationConfig>>(orchestrationConfig.KEY);
  const http = app.getHttpServer() as { requestTimeout: number };
  http.requestTimeout = orchestration.requestTimeoutMs;
  const messaging = app.get<ReturnType<typeof messagingConfig>>(messagingConfig.KEY);
  await startTaskerTransport(app, {
    onDeadLetter: (queue) => app.get(TaskerMetrics).messageDeadLettered(queue),
    queues: [ORCHESTRATION_STEP_RESULTS_QUEUE],
    prefetch: messaging.batchSize,
    visibilityTimeoutMs: orchestration.resultVisibilityTimeoutMs,
    shutdownGraceMs: messaging.shutdownGraceMs,
    maxDeliveries: messaging.maxDeliveries,
  });
  return app;
}
