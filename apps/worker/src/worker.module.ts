import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { databaseConfig, messagingConfig, workerConfig } from '#config';
import type { StepHandlerDefinition } from '#core';
import { MessagingModule } from '#messaging';
import { HealthModule, MetricsModule } from '#observability';
import { DatabaseModule } from '#persistence';
import { HandlerRegistry } from './services/handler-registry.js';
import { FastEventDispatcher } from './services/fast-events.js';
import { StepExecutor } from './services/step-executor.service.js';
import { WorkerQueues } from './services/worker-queues.js';
import { StepExecuteController } from './messaging/step-execute.controller.js';

/** A worker process serving the given step handlers. It never migrates the schema. */
@Module({})
export class WorkerModule {
  static forRoot(options: { handlers: readonly StepHandlerDefinition[] }): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [databaseConfig, messagingConfig, workerConfig],
        }),
        DatabaseModule,
        MessagingModule,
        MetricsModule,
        HealthModule.forRoot(),
      ],
      providers: [
        { provide: HandlerRegistry, useValue: new HandlerRegistry(options.handlers) },
        StepExecutor,
        FastEventDispatcher,
        WorkerQueues,
      ],
      controllers: [StepExecuteController],
    };
  }
}
