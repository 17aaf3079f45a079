import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig } from '#config';
import { TaskStore } from '#core';
import { connectionOptions } from './database.js';
import { DatabaseModule } from './database.module.js';
import { ENTITIES } from './entities/index.js';
import { PgTaskStore } from './pg-task-store.js';
import { DlqRepository } from './repositories/dlq.repository.js';
import { ScheduleRepository } from './repositories/schedule.repository.js';
import { StatsRepository } from './repositories/stats.repository.js';
import { TaskQueryRepository } from './repositories/task-query.repository.js';
import { TemplateRepository } from './repositories/template.repository.js';

/**
 * Orchestration's database access: the hot-path pool (DatabaseModule), the task store its
 * units of work run on (core's TaskStore port, on that pool), plus a small TypeORM data source
 * for entity reads. Never synchronizes: migrations own the schema.
 */
@Module({
  imports: [
    DatabaseModule,
    TypeOrmModule.forRootAsync({
      imports: [ConfigModule.forFeature(databaseConfig)],
      inject: [databaseConfig.KEY],
      useFactory: (config: ConfigType<typeof databaseConfig>) => ({
        type: 'postgres' as const,
        url: config.url,
        entities: ENTITIES,
        synchronize: false,
        migrationsRun: false,
        // Reads only: a few connections are plenty next to the hot-path pool.
        extra: { max: 3, application_name: 'tasker-reads', options: connectionOptions() },
        logging: false,
      }),
    }),
  ],
  providers: [
    TemplateRepository,
    TaskQueryRepository,
    ScheduleRepository,
    DlqRepository,
    StatsRepository,
    { provide: TaskStore, useClass: PgTaskStore },
  ],
  exports: [
    DatabaseModule,
    TaskStore,
    TemplateRepository,
    TaskQueryRepository,
    ScheduleRepository,
    DlqRepository,
    StatsRepository,
  ],
})
export class PersistenceModule {}
