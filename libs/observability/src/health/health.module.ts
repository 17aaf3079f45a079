import { type DynamicModule, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingModule } from '#messaging';
import { DatabaseModule } from '#persistence';
import { BrokerHealth } from './broker.health.js';
import { COMPONENT_HEALTH, type ComponentHealth } from './component-health.js';
import { DatabaseHealth } from './database.health.js';
import { EventSourceHealth } from './event-source.health.js';
import { HealthController } from './health.controller.js';

/**
 * /health, /health/live, /health/ready and /health/detailed for either app: the database, the
 * broker and the event source always, plus the app's own `components` (orchestration adds
 * its schema version and its owed step messages), with the modules they need in `imports`.
 */
@Module({})
export class HealthModule {
  static forRoot(
    options: { components?: Type<ComponentHealth>[]; imports?: ModuleMetadata['imports'] } = {},
  ): DynamicModule {
    const components: Type<ComponentHealth>[] = [
      DatabaseHealth,
      BrokerHealth,
      EventSourceHealth,
      ...(options.components ?? []),
    ];
    return {
      module: HealthModule,
      imports: [TerminusModule, DatabaseModule, MessagingModule, ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        ...components,
        {
          provide: COMPONENT_HEALTH,
          inject: components,
          useFactory: (...checks: ComponentHealth[]) => checks,
        },
      ],
    };
  }
}
