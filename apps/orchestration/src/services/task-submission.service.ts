import { Injectable, Logger } from '@nestjs/common';
import { traceIdOf, traceparentFor } from '#contracts';
import { TaskerMetrics } from '#observability';
import {
  computeIdentityHash,
  ContextValidator,
  TaskerError,
  templateKey,
  ValidationError,
  withLogContext,
} from '#core';
import {
  Database,
  enqueueReadySteps,
  insertTaskGraph,
  TemplateRepository,
  transitionTask,
  ProcessIdentity,
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

/**
 * POST /v1/tasks: validate everything first, then one transaction writes the task, its steps,
 * edges and transitions and enqueues the root steps; messages go out only after the commit.
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
    const processor = this.identity.processorUuid;
    const traceparent = traceparentFor(request.traceparent);

    const created = await this.database.transaction(async (tx) => {
      const { taskUuid, correlationId } = await insertTaskGraph(
        tx,
        template,
        {
          namedTaskUuid,
          context: request.context,
          identityHash,
          priority: request.priority ?? 0,
          correlationId: request.correlationId ?? null,
          traceparent,
          initiator: request.initiator ?? null,
          sourceSystem: request.sourceSystem ?? null,
          reason: request.reason ?? null,
          tags: request.tags ?? [],
        },
        processor,
      );
      const steps = await enqueueReadySteps(tx, taskUuid, processor);
      if (steps.length === 0) {
        // A validated template always has a root step; reaching this means a corrupt template.
        throw new TaskerError(
          'template_invalid',
          `${templateKey(template)} has no step ready to start`,
        );
      }
      await transitionTask(tx, taskUuid, ['enqueuing_steps'], ['steps_in_process'], {}, processor);
      return { taskUuid, correlationId, steps };
    });
    this.metrics.taskSubmitted(template.namespace, template.name);
    const fields = {
      taskUuid: created.taskUuid,
      correlationId: created.correlationId,
      traceId: traceIdOf(traceparent) ?? undefined,
    };
    withLogContext(fields, () => this.logger.debug(`submitted ${templateKey(template)}`));

    try {
      await this.announcer.announce({ ...created, namespace: template.namespace, traceparent });
    } catch (err) {
      // The task is committed; the sweep re-announces steps left enqueued. Do not fail the
      // request: retrying it would be a duplicate submission.
      this.logger.error(
        `task ${created.taskUuid}: announcing its first steps failed, the sweep will retry: ${String(err)}`,
      );
    }
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
}
