import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseModule } from '#persistence';
import { DatabaseHealth } from './database.health.js';
import { HealthController } from './health.controller.js';

/** /health, /health/live and /health/ready for either app. */
@Module({
  imports: [TerminusModule, DatabaseModule],
  controllers: [HealthController],
  providers: [DatabaseHealth],
})
export class HealthModule {}
