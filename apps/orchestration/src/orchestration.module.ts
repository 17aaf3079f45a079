import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigModule } from '@nestjs/config';
import { databaseConfig, messagingConfig, orchestrationConfig } from '#config';
import { MessagingModule } from '#messaging';
import { HealthModule, MetricsModule } from '#observability';
import { PersistenceModule } from '#persistence';
import { AnnouncementsHealth } from './health/announcements.health.js';
import { MigrationsHealth } from './health/migrations.health.js';
import { EventsController } from './http/events.controller.js';
import { ApiKeyGuard } from './http/api-key.guard.js';
import { Backpressure } from './http/backpressure.service.js';
import { DlqController } from './http/dlq.controller.js';
import { SchedulesController } from './http/schedules.controller.js';
import { ConcurrencyController } from './http/concurrency.controller.js';
import { StatsController } from './http/stats.controller.js';
import { TaskStepsController } from './http/task-steps.controller.js';
import { TasksController } from './http/tasks.controller.js';
import { TemplatesController } from './http/templates.controller.js';
import { UiController } from './http/ui.controller.js';
import { StepResultController } from './messaging/step-result.controller.js';
import { AdmissionRequests } from './services/admission-requests.js';
import { OrchestrationUnitOfWork } from './services/orchestration-unit-of-work.js';
import { ScheduleFiring } from './services/schedule-firing.service.js';
import { ScheduleService } from './services/schedule.service.js';
import { ReadinessSweeper } from './services/readiness-sweeper.service.js';
import { AnnouncementsModule } from './services/announcements.module.js';
import { DomainEventPublisher } from './services/domain-event-publisher.service.js';
import { EventIntake } from './services/event-intake.service.js';
import { StalenessDetector } from './services/staleness-detector.service.js';
import { StepOperationsService } from './services/step-operations.service.js';
import { StepResultProcessor } from './services/step-result.processor.js';
import { TaskCancellationService } from './services/task-cancellation.service.js';
import { TaskSubmissionService } from './services/task-submission.service.js';
import { TemplateRegistrationService } from './services/template-registration.service.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      load: [databaseConfig, messagingConfig, orchestrationConfig],
    }),
    PersistenceModule,
    MessagingModule,
    MetricsModule,
    AnnouncementsModule,
    HealthModule.forRoot({
      components: [MigrationsHealth, AnnouncementsHealth],
      imports: [AnnouncementsModule],
    }),
  ],
  controllers: [
    TasksController,
    TaskStepsController,
    TemplatesController,
    SchedulesController,
    EventsController,
    DlqController,
    StatsController,
    ConcurrencyController,
    StepResultController,
    UiController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    Backpressure,
    DomainEventPublisher,
    EventIntake,
    AdmissionRequests,
    OrchestrationUnitOfWork,
    TaskSubmissionService,
    TaskCancellationService,
    StepResultProcessor,
    StepOperationsService,
    ReadinessSweeper,
    ScheduleFiring,
    StalenessDetector,
    ScheduleService,
    TemplateRegistrationService,
  ],
})
export class OrchestrationModule {}
