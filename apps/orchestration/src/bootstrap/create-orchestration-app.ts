import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { DomainErrorFilter } from '../http/domain-error.filter.js';
import { OrchestrationModule } from '../orchestration.module.js';

/**
 * The orchestration HTTP app, configured the same way for `main.ts` and for the e2e tests:
 * strict validation (unknown fields are a 400), domain errors mapped, OpenAPI at /docs.
 */
export async function createOrchestrationApp(
  options: { logger?: false | ('error' | 'warn' | 'log')[] } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(OrchestrationModule, {
    logger: options.logger ?? ['error', 'warn', 'log'],
    // Registered below with an explicit size limit.
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: '1mb' });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
  );
  app.useGlobalFilters(new DomainErrorFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tasker orchestration')
      .setDescription('Submit and follow DAG workflow tasks')
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  return app;
}
