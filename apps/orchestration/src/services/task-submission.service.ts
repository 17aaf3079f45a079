import { Injectable, Logger } from '@nestjs/common';
import { traceIdOf, traceparentFor } from '#contracts';
import { TaskerMetrics } from '#observability';
import {
  type TaskSlots,
  taskSlotsOf,
  computeIdentityHash,
  ContextValidator,
  type EnqueuedStep,
  MessageBus,
  type SubmittedTask,
  type TaskTemplate,
  templateKey,
  initialSteps,
  ValidationError,
  withLogContext,
} from '#core';
import {
  Database,
  insertTaskGraph,
  StaleTemplateError,
  TemplateRepository,
  type TemplateVersionStamp,
  ProcessIdentity,
  type NewTask,
  type Queryable,
} from '#persistence';
import { AdmissionRequests } from './admission-requests.js';
import { StepAnnouncer, stepMessages } from './step-announcer.service.js';

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

/** A request checked against its template, ready to be written in any transaction. */
export interface PreparedTask {
  request: TaskSubmission;
  template: TaskTemplate;
  stamp: TemplateVersionStamp;
  identityHash: string;
  traceparent: string;
  /** Its limits with its keys (taskSlotsOf); null: none. */
  slots: TaskSlots | null;
}

/** A task written (not yet committed, until the caller's transaction is). */
export interface CreatedTask {
  taskUuid: string;
  correlationId: string;
  steps: EnqueuedStep[];
  /** Its first step messages were sent in the statement that wrote it (PGMQ). */
  announced: boolean;
  /** Root steps waiting for a slot of a limit: admitted after the commit. */
  waiting: number;
  prepared: PreparedTask;
}

/** What started a task other than a request: a schedule's fire, or an event. */
export type TaskOrigin = Pick<NewTask, 'schedule' | 'triggerEventUuid'>;

/**
 * POST /v1/tasks: validate everything first (against the cached template), then one statement
 * writes the task, its steps, edges and transitions with the root steps enqueued, and on PGMQ
 * sends their messages too: one round trip from request to commit. Elsewhere the messages go
 * out after the commit. Schedules use the same three parts inside their own transaction.
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
    private readonly bus: MessageBus,
    private readonly admissions: AdmissionRequests,
  ) {}

  async submit(request: TaskSubmission): Promise<SubmittedTask> {
    const created = await this.create(this.database.pool, request);
    await this.announceCreated(created);
    const { template, traceparent } = created.prepared;
    return {
      taskUuid: created.taskUuid,
      namespace: template.namespace,
      name: template.name,
      version: template.version,
      status: 'steps_in_process',
      correlationId: created.correlationId,
      traceparent,
      stepCount: initialSteps(template).steps.length,
      enqueuedSteps: created.steps.map((s) => s.stepName),
    };
  }

  /**
   * prepare, then insert; if the cached template turned out stale (the insert wrote nothing),
   * once more against the current one. In the caller's transaction if `q` is one.
   */
  async create(
    q: Queryable,
    request: TaskSubmission,
    origin: TaskOrigin = {},
  ): Promise<CreatedTask> {
    try {
      return await this.insert(q, await this.prepare(request), origin);
    } catch (err) {
      if (!(err instanceof StaleTemplateError)) throw err;
      return this.insert(q, await this.prepare(request), origin);
    }
  }

  /** Finds the template and checks the context; throws a domain error, writes nothing. */
  async prepare(request: TaskSubmission): Promise<PreparedTask> {
    const { stamp, template } = await this.templates.findCached(
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
      stamp,
      identityHash,
      traceparent: traceparentFor(request.traceparent),
      slots: taskSlotsOf(template, request.context),
    };
  }

  /**
   * Writes the task graph with its root steps enqueued (and, on PGMQ, their messages sent) in
   * one statement, in the caller's transaction if it has one. A stale cached template is
   * forgotten and StaleTemplateError thrown: nothing was written.
   */
  private async insert(
    q: Queryable,
    prepared: PreparedTask,
    origin: TaskOrigin,
  ): Promise<CreatedTask> {
    const { request, template, traceparent } = prepared;
    try {
      const inserted = await insertTaskGraph(
        q,
        template,
        prepared.stamp,
        {
          context: request.context,
          identityHash: prepared.identityHash,
          priority: request.priority ?? 0,
          correlationId: request.correlationId ?? null,
          traceparent,
          initiator: request.initiator ?? null,
          sourceSystem: request.sourceSystem ?? null,
          reason: request.reason ?? null,
          tags: request.tags ?? [],
          slots: prepared.slots,
          ...origin,
        },
        this.identity.processorUuid,
        this.bus.queuesInDatabase
          ? ({ taskUuid, correlationId, rootSteps }) => {
              const { queue, messages } = stepMessages({
                taskUuid,
                correlationId,
                namespace: template.namespace,
                traceparent,
                steps: rootSteps,
              });
              return { queue, messages: messages.map((m) => JSON.stringify(m)) };
            }
          : undefined,
      );
      return {
        taskUuid: inserted.taskUuid,
        correlationId: inserted.correlationId,
        steps: inserted.rootSteps,
        announced: inserted.announced,
        waiting: inserted.waiting,
        prepared,
      };
    } catch (err) {
      if (err instanceof StaleTemplateError)
        this.templates.forget(template.namespace, template.name);
      throw err;
    }
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
    if (created.waiting > 0) await this.admissions.request([created.taskUuid]);
    if (created.announced || created.steps.length === 0) return;
    // Never fails the request: the task is committed, with its first messages recorded as owed
    // (StepAnnouncer sends them when the broker takes them). Failing would invite a duplicate.
    await this.announcer.announce({
      taskUuid: created.taskUuid,
      correlationId: created.correlationId,
      steps: created.steps,
      namespace: template.namespace,
      traceparent,
    });
  }
}
