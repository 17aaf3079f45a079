import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type * as core from '#core';
import {
  BACKOFF_KINDS,
  BATCH_FAILURE_STRATEGIES,
  EVENT_CONDITIONS,
  EVENT_DELIVERIES,
  STEP_KINDS,
  STEP_STATES,
  TASK_STATES,
} from '#core';
import { ANY_JSON, countsBy, JSON_OBJECT } from './json-schema.js';

// The response schemas of the task routes. Each class implements the read model the route
// returns, so a field added to or removed from the model fails to compile here.

const uuid = { format: 'uuid' } as const;
const instant = { format: 'date-time' } as const;

export class SubmittedTask implements core.SubmittedTask {
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: '1.0.0' }) version!: string;
  @ApiProperty({ enum: ['steps_in_process'] }) status!: 'steps_in_process';
  @ApiProperty() correlationId!: string;
  @ApiProperty({ description: 'W3C traceparent every message of the task carries' })
  traceparent!: string;
  @ApiProperty({
    type: 'integer',
    description: 'Steps created with the task; decisions and batches add theirs while it runs',
  })
  stepCount!: number;
  @ApiProperty({ type: [String], description: 'Names of the steps enqueued at once' })
  enqueuedSteps!: string[];
}

export class CancelledTask implements core.CancelledTask {
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty({ enum: ['cancelled'] }) status!: 'cancelled';
  @ApiProperty({ type: 'integer' }) cancelledSteps!: number;
}

export class StepView implements core.StepView {
  @ApiProperty(uuid) stepUuid!: string;
  @ApiProperty() name!: string;
  @ApiProperty() handler!: string;
  @ApiProperty({ enum: STEP_KINDS, description: "The step's type in the template" })
  kind!: core.StepKind;
  @ApiProperty({
    description: 'The template step it was made from: its own name, but for a batch worker',
  })
  template!: string;
  @ApiProperty({
    type: [String],
    nullable: true,
    description:
      "A decision's branches or a batchable step's workers, as its outcome created them; null for other kinds",
  })
  createdSteps!: string[] | null;
  @ApiProperty({ enum: STEP_STATES }) state!: core.StepState;
  @ApiProperty({ type: 'integer' }) attempts!: number;
  @ApiProperty({ type: 'integer' }) maxAttempts!: number;
  @ApiProperty() retryable!: boolean;
  @ApiProperty({ type: String, nullable: true, ...instant }) lastAttemptedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, ...instant }) nextRetryAt!: string | null;
  @ApiProperty({ type: [String] }) dependsOn!: string[];
  @ApiProperty({ ...ANY_JSON, description: "The handler's result (null until it has one)" })
  result!: unknown;
  @ApiProperty({ ...JSON_OBJECT, nullable: true, description: 'The last failure' })
  error!: Record<string, unknown> | null;
}

export class TransitionView implements core.TransitionView {
  @ApiProperty({ type: String, nullable: true }) fromState!: string | null;
  @ApiProperty() toState!: string;
  @ApiProperty({ ...JSON_OBJECT, description: "Why: an outcome, an error, an operator's action" })
  metadata!: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true, ...uuid }) processorUuid!: string | null;
  @ApiProperty(instant) createdAt!: string;
}

export class StepDetailView extends StepView implements core.StepDetailView {
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty({ type: [TransitionView], description: 'Oldest first' })
  transitions!: TransitionView[];
}

export class TaskSummaryView implements core.TaskSummaryView {
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiProperty({ enum: TASK_STATES }) status!: core.TaskState;
  @ApiProperty({ type: 'integer' }) priority!: number;
  @ApiProperty() correlationId!: string;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty(instant) requestedAt!: string;
  @ApiProperty({ type: String, nullable: true, ...instant }) completedAt!: string | null;
}

export class TaskScheduleRef {
  @ApiProperty(uuid) scheduleUuid!: string;
  @ApiProperty(instant) fireAt!: string;
}

export class TaskView extends TaskSummaryView implements core.TaskView {
  @ApiProperty(JSON_OBJECT) context!: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true }) initiator!: string | null;
  @ApiProperty({ type: String, nullable: true }) sourceSystem!: string | null;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({
    type: TaskScheduleRef,
    nullable: true,
    description: 'The schedule fire that created the task, if one did',
  })
  schedule!: TaskScheduleRef | null;
  @ApiProperty({ ...countsBy(STEP_STATES), description: 'Steps by state' })
  stepCounts!: Partial<Record<core.StepState, number>>;
  @ApiProperty({ type: 'integer' }) totalSteps!: number;
  @ApiProperty({ type: 'number', minimum: 0, maximum: 100 }) completionPercentage!: number;
  @ApiProperty({ type: [StepView] }) steps!: StepView[];
}

export class TaskPage implements core.TaskPage {
  @ApiProperty({ type: [TaskSummaryView] }) items!: TaskSummaryView[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass back as cursor for the next (older) page; null on the last page',
  })
  nextCursor!: string | null;
}

export class StepTransitionView implements core.StepTransitionView {
  @ApiProperty(uuid) stepUuid!: string;
  @ApiProperty({ type: String, nullable: true }) fromState!: string | null;
  @ApiProperty() toState!: string;
  @ApiProperty(instant) createdAt!: string;
}

export class StepTransitionList implements core.ItemList<core.StepTransitionView> {
  @ApiProperty({ type: [StepTransitionView] }) items!: StepTransitionView[];
}

export class TemplateStepSummary {
  @ApiProperty() name!: string;
  @ApiProperty() handler!: string;
  @ApiProperty({ type: [String] }) dependsOn!: string[];
}

export class TemplateSummaryView implements core.TemplateSummaryView {
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: ['strict', 'caller_provided', 'always_unique'] })
  identityStrategy!: core.IdentityStrategy;
  @ApiProperty({ type: [TemplateStepSummary] }) steps!: TemplateStepSummary[];
}

export class TemplateList implements core.ItemList<core.TemplateSummaryView> {
  @ApiProperty({ type: [TemplateSummaryView] }) items!: TemplateSummaryView[];
}

export class RetryPolicy implements core.RetryPolicy {
  @ApiProperty({ type: 'integer', description: 'Runs allowed, the first included' })
  maxAttempts!: number;
  @ApiProperty({ enum: BACKOFF_KINDS }) backoff!: core.BackoffKind;
  @ApiProperty({ type: 'integer' }) backoffBaseMs!: number;
  @ApiProperty({ type: 'integer' }) maxBackoffMs!: number;
  @ApiProperty({ type: 'number', minimum: 0, maximum: 1 }) jitter!: number;
}

export class EventDeclaration implements core.EventDeclaration {
  @ApiProperty() name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty({ enum: EVENT_CONDITIONS }) condition!: core.EventCondition;
  @ApiProperty({ ...JSON_OBJECT, description: 'JSON Schema of the payload' })
  schema!: Record<string, unknown>;
  @ApiProperty({ enum: EVENT_DELIVERIES }) delivery!: core.EventDelivery;
  @ApiPropertyOptional() publisher?: string;
}

export class BatchConfig implements core.BatchConfig {
  @ApiProperty({ type: 'integer' }) batchSize!: number;
  @ApiProperty({ type: 'integer' }) parallelism!: number;
  @ApiProperty() cursorField!: string;
  @ApiProperty() workerTemplate!: string;
  @ApiProperty({ enum: BATCH_FAILURE_STRATEGIES }) failureStrategy!: core.BatchFailureStrategy;
}

export class StepTemplate implements core.StepTemplate {
  @ApiProperty() name!: string;
  @ApiProperty() handler!: string;
  @ApiProperty({ type: [String] }) dependsOn!: string[];
  @ApiProperty() retryable!: boolean;
  @ApiProperty({ type: RetryPolicy }) retry!: RetryPolicy;
  @ApiProperty({ type: 'integer' }) timeoutSeconds!: number;
  @ApiProperty(JSON_OBJECT) inputs!: Record<string, unknown>;
  @ApiPropertyOptional({ enum: STEP_KINDS, description: 'Absent means standard' })
  kind?: core.StepKind;
  @ApiPropertyOptional() description?: string;
  @ApiPropertyOptional({ ...JSON_OBJECT, description: "The handler's configuration" })
  config?: Record<string, unknown>;
  @ApiPropertyOptional() handlerMethod?: string;
  @ApiPropertyOptional() handlerResolver?: string;
  @ApiPropertyOptional() systemDependency?: string;
  @ApiPropertyOptional({ type: [EventDeclaration] }) publishesEvents?: EventDeclaration[];
  @ApiPropertyOptional({ type: BatchConfig }) batch?: BatchConfig;
}

export class SystemDependencies {
  @ApiProperty() primary!: string;
  @ApiProperty({ type: [String] }) secondary!: string[];
}

export class DomainEventDefinition {
  @ApiProperty() name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty(JSON_OBJECT) schema!: Record<string, unknown>;
}

export class StalenessThresholds implements core.StalenessThresholds {
  @ApiPropertyOptional({ type: 'integer' }) waitingForDependenciesMinutes?: number;
  @ApiPropertyOptional({ type: 'integer' }) waitingForRetryMinutes?: number;
  @ApiPropertyOptional({ type: 'integer' }) stepsInProcessMinutes?: number;
  @ApiPropertyOptional({ type: 'integer' }) maxLifetimeMinutes?: number;
}

export class TaskTemplate implements core.TaskTemplate {
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty({ enum: ['strict', 'caller_provided', 'always_unique'] })
  identityStrategy!: core.IdentityStrategy;
  @ApiProperty({ ...JSON_OBJECT, description: 'JSON Schema the task context must satisfy' })
  inputSchema!: Record<string, unknown>;
  @ApiProperty({ type: [StepTemplate], description: 'In a topological order' })
  steps!: StepTemplate[];
  @ApiPropertyOptional({ type: StalenessThresholds }) staleness?: StalenessThresholds;
  @ApiProperty({ description: 'The file the template was read from' }) source!: string;
  @ApiPropertyOptional({ enum: ['tasker_core'], description: 'Absent for our own format' })
  format?: 'tasker_core';
  @ApiPropertyOptional(JSON_OBJECT) metadata?: Record<string, unknown>;
  @ApiPropertyOptional({ type: SystemDependencies }) systemDependencies?: SystemDependencies;
  @ApiPropertyOptional({ type: [DomainEventDefinition] }) domainEvents?: DomainEventDefinition[];
  @ApiPropertyOptional({ description: 'The TASKER_ENV whose overrides were applied' })
  environment?: string;
}
