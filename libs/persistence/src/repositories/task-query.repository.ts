import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type SelectQueryBuilder } from 'typeorm';
import type {
  StepDetailView,
  StepState,
  StepTransitionView,
  StepView,
  TaskPage,
  TaskState,
  TaskSummaryView,
  TaskView,
  TransitionView,
} from '#core';
import { SATISFIED_STEP_STATES, StepNotFoundError, TaskNotFoundError } from '#core';
import {
  NamedTaskEntity,
  TaskEntity,
  TaskNamespaceEntity,
  TaskTransitionEntity,
  WorkflowStepEntity,
  WorkflowStepTransitionEntity,
} from '../entities/index.js';

export interface TaskListFilter {
  namespace?: string | undefined;
  name?: string | undefined;
  status?: TaskState | undefined;
  /** Exact match (indexed: tasks_correlation_idx). */
  correlationId?: string | undefined;
  /** Submitted at or after / before these instants: bounds on the UUIDv7 primary key. */
  requestedFrom?: Date | undefined;
  requestedBefore?: Date | undefined;
  limit: number;
  /** The last taskUuid of the previous page: tasks are listed newest first (UUIDv7 order). */
  cursor?: string | undefined;
}

/** A summary as the database returns it: timestamps are still Dates. */
type SummaryRow = Omit<TaskSummaryView, 'requestedAt' | 'completedAt'> & {
  requestedAt: Date;
  completedAt: Date | null;
};

/** Task reads for the API (simple reads through TypeORM; writes live in sql/). */
@Injectable()
export class TaskQueryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(filter: TaskListFilter): Promise<TaskPage> {
    const qb = this.summaryQuery();
    if (filter.namespace) qb.andWhere('ns.name = :namespace', { namespace: filter.namespace });
    if (filter.name) qb.andWhere('nt.name = :name', { name: filter.name });
    if (filter.status) qb.andWhere('tr.toState = :status', { status: filter.status });
    if (filter.correlationId)
      qb.andWhere('t.correlationId = :correlationId', { correlationId: filter.correlationId });
    if (filter.requestedFrom)
      qb.andWhere('t.uuid >= :from', { from: firstUuidv7Of(filter.requestedFrom) });
    if (filter.requestedBefore)
      qb.andWhere('t.uuid < :before', { before: firstUuidv7Of(filter.requestedBefore) });
    if (filter.cursor) qb.andWhere('t.uuid < :cursor', { cursor: filter.cursor });
    const rows = await qb
      .orderBy('t.uuid', 'DESC')
      .limit(filter.limit + 1)
      .getRawMany<SummaryRow>();
    const page = rows.slice(0, filter.limit).map(toSummary);
    return {
      items: page,
      nextCursor: rows.length > filter.limit ? (page.at(-1)?.taskUuid ?? null) : null,
    };
  }

  async get(taskUuid: string): Promise<TaskView> {
    const row = await this.summaryQuery()
      .addSelect('t.context', 'context')
      .addSelect('t.initiator', 'initiator')
      .addSelect('t.sourceSystem', 'sourceSystem')
      .addSelect('t.reason', 'reason')
      .addSelect('t.scheduleUuid', 'scheduleUuid')
      .addSelect('t.scheduledFireAt', 'scheduledFireAt')
      .where('t.uuid = :taskUuid', { taskUuid })
      .getRawOne<
        SummaryRow &
          Pick<TaskView, 'context' | 'initiator' | 'sourceSystem' | 'reason'> & {
            scheduleUuid: string | null;
            scheduledFireAt: Date | null;
          }
      >();
    if (!row) throw new TaskNotFoundError(taskUuid);
    const steps = await this.steps(taskUuid);
    const stepCounts: Partial<Record<StepState, number>> = {};
    for (const step of steps) stepCounts[step.state] = (stepCounts[step.state] ?? 0) + 1;
    const satisfied = steps.filter((s) => SATISFIED_STEP_STATES.includes(s.state)).length;
    return {
      ...toSummary(row),
      context: row.context,
      initiator: row.initiator,
      sourceSystem: row.sourceSystem,
      reason: row.reason,
      schedule:
        row.scheduleUuid && row.scheduledFireAt
          ? { scheduleUuid: row.scheduleUuid, fireAt: row.scheduledFireAt.toISOString() }
          : null,
      stepCounts,
      totalSteps: steps.length,
      completionPercentage: steps.length === 0 ? 0 : Math.round((satisfied / steps.length) * 100),
      steps,
    };
  }

  /** One step of a task with its whole transition history. */
  async step(taskUuid: string, stepUuid: string): Promise<StepDetailView> {
    const [step] = await this.steps(taskUuid, stepUuid);
    if (!step) throw new StepNotFoundError(taskUuid, stepUuid);
    const transitions = await this.dataSource.query<
      (Omit<TransitionView, 'createdAt'> & { createdAt: Date })[]
    >(
      `SELECT from_state AS "fromState", to_state AS "toState", metadata,
              processor_uuid AS "processorUuid", created_at AS "createdAt"
         FROM tasker.workflow_step_transitions
        WHERE workflow_step_uuid = $1
        ORDER BY sort_key`,
      [stepUuid],
    );
    return {
      ...step,
      taskUuid,
      transitions: transitions.map((t) => ({ ...t, createdAt: t.createdAt.toISOString() })),
    };
  }

  /**
   * Every step transition of a task without its metadata, oldest first per step: what a
   * timeline needs, in one read: an index led by workflow_steps.task_uuid, then each step's
   * (step, sort_key) index.
   */
  async stepTransitions(taskUuid: string): Promise<StepTransitionView[]> {
    const rows = await this.dataSource.query<
      (Omit<StepTransitionView, 'createdAt'> & { createdAt: Date })[]
    >(
      `SELECT st.workflow_step_uuid AS "stepUuid", st.from_state AS "fromState",
              st.to_state AS "toState", st.created_at AS "createdAt"
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st ON st.workflow_step_uuid = s.workflow_step_uuid
        WHERE s.task_uuid = $1
        ORDER BY st.workflow_step_uuid, st.sort_key`,
      [taskUuid],
    );
    if (rows.length === 0) await this.assertTaskExists(taskUuid);
    return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }));
  }

  private async assertTaskExists(taskUuid: string): Promise<void> {
    const found = await this.dataSource.query<unknown[]>(
      'SELECT 1 FROM tasker.tasks WHERE task_uuid = $1',
      [taskUuid],
    );
    if (found.length === 0) throw new TaskNotFoundError(taskUuid);
  }

  private async steps(taskUuid: string, stepUuid?: string): Promise<StepView[]> {
    const rows = await this.dataSource
      .createQueryBuilder()
      .from(WorkflowStepEntity, 's')
      .innerJoin(WorkflowStepTransitionEntity, 'st', 'st.stepUuid = s.uuid AND st.mostRecent')
      .select('s.uuid', 'stepUuid')
      .addSelect('s.name', 'name')
      .addSelect('s.handler', 'handler')
      .addSelect('s.kind', 'kind')
      .addSelect(
        `coalesce((SELECT ns.name FROM tasker.named_steps ns
                    WHERE ns.named_step_uuid = s.named_step_uuid), s.name)`,
        'template',
      )
      .addSelect(
        // What a decision's or batchable step's outcome made: its branches, or its workers.
        `CASE WHEN s.kind IN ('decision', 'batchable') THEN
           ARRAY(SELECT c.name FROM tasker.workflow_step_edges e
                   JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid
                  WHERE e.from_step_uuid = s.workflow_step_uuid
                    AND c.kind = CASE s.kind WHEN 'batchable' THEN 'batch_worker' ELSE c.kind END
                    AND c.kind <> 'deferred_convergence'
                  ORDER BY c.name) END`,
        'createdSteps',
      )
      .addSelect('st.toState', 'state')
      .addSelect('s.attempts', 'attempts')
      .addSelect('s.maxAttempts', 'maxAttempts')
      .addSelect('s.retryable', 'retryable')
      .addSelect('s.lastAttemptedAt', 'lastAttemptedAt')
      .addSelect('s.nextRetryAt', 'nextRetryAt')
      .addSelect('s.results', 'result')
      .addSelect('s.lastError', 'error')
      .addSelect(
        `ARRAY(SELECT p.name FROM tasker.workflow_step_edges e
                 JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
                WHERE e.to_step_uuid = s.workflow_step_uuid ORDER BY p.name)`,
        'dependsOn',
      )
      .where('s.taskUuid = :taskUuid', { taskUuid })
      .andWhere(stepUuid ? 's.uuid = :stepUuid' : 'TRUE', { stepUuid })
      .orderBy('s.uuid', 'ASC')
      .getRawMany<
        Omit<StepView, 'lastAttemptedAt' | 'nextRetryAt'> & {
          lastAttemptedAt: Date | null;
          nextRetryAt: Date | null;
        }
      >();
    return rows.map((r) => ({
      ...r,
      lastAttemptedAt: r.lastAttemptedAt?.toISOString() ?? null,
      nextRetryAt: r.nextRetryAt?.toISOString() ?? null,
    }));
  }

  private summaryQuery(): SelectQueryBuilder<TaskEntity> {
    return this.dataSource
      .getRepository(TaskEntity)
      .createQueryBuilder('t')
      .innerJoin(TaskTransitionEntity, 'tr', 'tr.taskUuid = t.uuid AND tr.mostRecent')
      .innerJoin(NamedTaskEntity, 'nt', 'nt.uuid = t.namedTaskUuid')
      .innerJoin(TaskNamespaceEntity, 'ns', 'ns.uuid = nt.namespaceUuid')
      .select('t.uuid', 'taskUuid')
      .addSelect('ns.name', 'namespace')
      .addSelect('nt.name', 'name')
      .addSelect('nt.version', 'version')
      .addSelect('tr.toState', 'status')
      .addSelect('t.priority', 'priority')
      .addSelect('t.correlationId', 'correlationId')
      .addSelect('t.tags', 'tags')
      .addSelect('t.requestedAt', 'requestedAt')
      .addSelect('t.completedAt', 'completedAt');
  }
}

/**
 * The lowest UUIDv7 of an instant: task UUIDs are v7, made at submission, so a time range on
 * them is a range of the primary key.
 */
export function firstUuidv7Of(instant: Date): string {
  const ms = Math.min(Math.max(instant.getTime(), 0), 2 ** 48 - 1);
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

function toSummary(row: SummaryRow): TaskSummaryView {
  return {
    taskUuid: row.taskUuid,
    namespace: row.namespace,
    name: row.name,
    version: row.version,
    status: row.status,
    priority: row.priority,
    correlationId: row.correlationId,
    tags: row.tags,
    requestedAt: row.requestedAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}
