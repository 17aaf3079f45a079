import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingModule } from '#messaging';
import { DatabaseModule } from '#persistence';
import { BrokerHealth } from './broker.health.js';
import { DatabaseHealth } from './database.health.js';
import { HealthController } from './health.controller.js';

/** /health, /health/live and /health/ready for either app. */
@Module({
  imports: [TerminusModule, DatabaseModule, MessagingModule],
  controllers: [HealthController],
  providers: [DatabaseHealth, BrokerHealth],
})
export class HealthModule {}
