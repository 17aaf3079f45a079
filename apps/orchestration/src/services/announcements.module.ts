import { Module } from '@nestjs/common';
import { MessagingModule } from '#messaging';
import { DatabaseModule } from '#persistence';
import { StepAnnouncer } from './step-announcer.service.js';

/**
 * The one StepAnnouncer of an orchestration app, in a module of its own so that the health
 * checks (AnnouncementsHealth) see the same instance as the units of work.
 */
@Module({
  imports: [DatabaseModule, MessagingModule],
  providers: [StepAnnouncer],
  exports: [StepAnnouncer],
})
export class AnnouncementsModule {}
