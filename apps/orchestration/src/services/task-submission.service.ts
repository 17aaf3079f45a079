import { Injectable, Logger } from '@nestjs/common';
import { traceIdOf, traceparentFor } from '#contracts';
import { TaskerMetrics } from '#observability';
import {
  computeIdentityHash,
  ContextValidator,
  TaskerError,
  type TaskTemplate,
  templateKey,
  ValidationError,
  withLogContext,
} from '#core';
import {
  Database,
  type EnqueuedStep,
  enqueueReadySteps,
  insertTaskGraph,
  TemplateRepository,
  transitionTask,
  ProcessIdentity,
  type NewTask,
  type Queryable,
} from '#persistence';
import { StepAnnouncer } from './step-announcer.service.js';

export interface TaskSubmission {
  namespace: string;
  name: string;
  version?: string | undefined;
  context: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  priority?: number | undefined;
  correlationId?: string | undefined;
  initiator?: string | undefined;
  sourceSystem?: string | undefined;
  reason?: string | undefined;
  tags?: string[] | undefined;
  /** The caller's W3C traceparent header; an invalid or missing one starts a new trace. */
  traceparent?: string | undefined;
}

export interface SubmittedTask {
  taskUuid: string;
  namespace: string;
  name: string;
  version: string;
  status: 'steps_in_process';
  correlationId: string;
  /** The trace every message of this task carries. */
  traceparent: string;
  stepCount: number;
  enqueuedSteps: string[];
}

/** A request checked against its template, ready to be written in any transaction. */
export interface PreparedTask {
  request: TaskSubmission;
  template: TaskTemplate;
  namedTaskUuid: string;
  identityHash: string;
  traceparent: string;
}

/** A task written (not yet committed, until the caller's transaction is). */
export interface CreatedTask {
  taskUuid: string;
  correlationId: string;
  steps: EnqueuedStep[];
  prepared: PreparedTask;
}

/**
 * POST /v1/tasks: validate everything first, then one transaction writes the task, its steps,
 * edges and transitions and enqueues the root steps; messages go out only after the commit.
 * Schedules use the same three parts inside their own transaction.
 */
@Injectable()
export class TaskSubmissionService {
  private readonly logger = new Logger(TaskSubmissionService.name);
  private readonly contextValidator = new ContextValidator();

  constructor(
    private readonly database: Database,
    private readonly templates: TemplateRepository,
    private readonly announcer: StepAnnouncer,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
  ) {}

  async submit(request: TaskSubmission): Promise<SubmittedTask> {
    const prepared = await this.prepare(request);
    const created = await this.database.transaction((tx) => this.insert(tx, prepared));
    await this.announceCreated(created);
    const { template, traceparent } = prepared;
    return {
      taskUuid: created.taskUuid,
      namespace: template.namespace,
      name: template.name,
      version: template.version,
      status: 'steps_in_process',
      correlationId: created.correlationId,
      traceparent,
      stepCount: template.steps.length,
      enqueuedSteps: created.steps.map((s) => s.stepName),
    };
  }

  /** Finds the template and checks the context; throws a domain error, writes nothing. */
  async prepare(request: TaskSubmission): Promise<PreparedTask> {
    const { namedTaskUuid, template } = await this.templates.find(
      request.namespace,
      request.name,
      request.version,
    );
    const problems = this.contextValidator.validate(template, request.context);
    if (problems.length > 0) {
      throw new ValidationError(
        `context does not match the input_schema of ${templateKey(template)}: ${problems.join('; ')}`,
        { problems },
      );
    }
    const identityHash = computeIdentityHash({
      strategy: template.identityStrategy,
      templateKey: templateKey(template),
      context: request.context,
      idempotencyKey: request.idempotencyKey,
    });
    return {
      request,
      template,
      namedTaskUuid,
      identityHash,
      traceparent: traceparentFor(request.traceparent),
    };
  }

  /** Writes the task graph and enqueues its root steps in the caller's transaction. */
  async insert(
    tx: Queryable,
    prepared: PreparedTask,
    schedule?: NewTask['schedule'],
  ): Promise<CreatedTask> {
    const { request, template } = prepared;
    const processor = this.identity.processorUuid;
    const { taskUuid, correlationId } = await insertTaskGraph(
      tx,
      template,
      {
        namedTaskUuid: prepared.namedTaskUuid,
        context: request.context,
        identityHash: prepared.identityHash,
        priority: request.priority ?? 0,
        correlationId: request.correlationId ?? null,
        traceparent: prepared.traceparent,
        initiator: request.initiator ?? null,
        sourceSystem: request.sourceSystem ?? null,
        reason: request.reason ?? null,
        tags: request.tags ?? [],
        schedule,
      },
      processor,
    );
    const { steps } = await enqueueReadySteps(tx, taskUuid, processor);
    if (steps.length === 0) {
      // A validated template always has a root step; reaching this means a corrupt template.
      throw new TaskerError(
        'template_invalid',
        `${templateKey(template)} has no step ready to start`,
      );
    }
    await transitionTask(tx, taskUuid, ['enqueuing_steps'], ['steps_in_process'], {}, processor);
    return { taskUuid, correlationId, steps, prepared };
  }

  /** After the commit: counts the task and sends its first step messages. */
  async announceCreated(created: CreatedTask): Promise<void> {
    const { template, traceparent } = created.prepared;
    this.metrics.taskSubmitted(template.namespace, template.name);
    const fields = {
      taskUuid: created.taskUuid,
      correlationId: created.correlationId,
      traceId: traceIdOf(traceparent) ?? undefined,
    };
    withLogContext(fields, () => this.logger.debug(`submitted ${templateKey(template)}`));
    try {
      await this.announcer.announce({
        taskUuid: created.taskUuid,
        correlationId: created.correlationId,
        steps: created.steps,
        namespace: template.namespace,
        traceparent,
      });
    } catch (err) {
      // The task is committed; the sweep re-announces steps left enqueued. Do not fail the
      // request: retrying it would be a duplicate submission.
      this.logger.error(
        `task ${created.taskUuid}: announcing its first steps failed, the sweep will retry: ${String(err)}`,
      );
    }
  }
}
