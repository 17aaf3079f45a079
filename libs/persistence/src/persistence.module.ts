import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig } from '#config';
import { Database } from './database.js';
import { ENTITIES } from './entities/index.js';
import { ProcessIdentity } from './process-identity.js';
import { TaskQueryRepository } from './repositories/task-query.repository.js';
import { TemplateRepository } from './repositories/template.repository.js';

/**
 * Database access for both apps: a pg pool for the hand-written hot paths (Database) and a
 * small TypeORM data source for entity reads. Never synchronizes: migrations own the schema.
 */
@Module({
  imports: [
    ConfigModule.forFeature(databaseConfig),
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
        extra: { max: 3, application_name: 'tasker-reads' },
        logging: false,
      }),
    }),
  ],
  providers: [Database, ProcessIdentity, TemplateRepository, TaskQueryRepository],
  exports: [Database, ProcessIdentity, TemplateRepository, TaskQueryRepository],
})
export class PersistenceModule {}
