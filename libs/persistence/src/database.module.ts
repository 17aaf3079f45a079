import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { databaseConfig } from '#config';
import { Database } from './database.js';
import { ProcessIdentity } from './process-identity.js';

/** The hot-path pg pool alone: all a worker (and the PGMQ adapter, and health) needs. */
@Module({
  imports: [ConfigModule.forFeature(databaseConfig)],
  providers: [Database, ProcessIdentity],
  exports: [Database, ProcessIdentity],
})
export class DatabaseModule {}
