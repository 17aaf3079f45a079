import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PersistenceModule } from '#persistence';
import { DatabaseHealth } from './database.health.js';
import { HealthController } from './health.controller.js';

/** /health, /health/live and /health/ready for either app. */
@Module({
  imports: [TerminusModule, PersistenceModule],
  controllers: [HealthController],
  providers: [DatabaseHealth],
})
export class HealthModule {}
