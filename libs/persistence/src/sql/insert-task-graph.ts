import { v7 as uuidv7 } from 'uuid';
import type { TaskTemplate } from '#core';
import { DuplicateTaskError } from '#core';
import type { Queryable } from '../database.js';

export interface NewTask {
  namedTaskUuid: string;
  context: Record<string, unknown>;
  identityHash: string;
  priority: number;
  correlationId: string | null;
  /** W3C traceparent the task's messages carry. */
  traceparent: string;
  initiator: string | null;
  sourceSystem: string | null;
  reason: string | null;
  tags: string[];
  /** Set when a schedule fired the task. */
  schedule?: { scheduleUuid: string; fireAt: Date } | undefined;
}

/**
 * Writes a task, its steps, its edges and the first transitions (task: pending → initializing →
 * enqueuing_steps; every step: pending) with a fixed number of statements whatever the size
 * of the DAG. Throws DuplicateTaskError when the identity hash is taken.
 */
export async function insertTaskGraph(
  q: Queryable,
  template: TaskTemplate,
  task: NewTask,
  processorUuid: string | null,
): Promise<{ taskUuid: string; correlationId: string }> {
  const taskUuid = uuidv7();
  // Without a caller-supplied correlation id, the task's own id correlates its messages.
  const correlationId = task.correlationId ?? taskUuid;
  const inserted = await q.query(
    `INSERT INTO tasker.tasks
       (task_uuid, named_task_uuid, context, identity_hash, priority, correlation_id, initiator,
        source_system, reason, tags, traceparent, schedule_uuid, scheduled_fire_at)
     VALUES ($10, $1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9::text[], $11, $12, $13)
     ON CONFLICT (identity_hash) DO NOTHING`,
    [
      task.namedTaskUuid,
      JSON.stringify(task.context),
      task.identityHash,
      task.priority,
      correlationId,
      task.initiator,
      task.sourceSystem,
      task.reason,
      task.tags,
      taskUuid,
      task.traceparent,
      task.schedule?.scheduleUuid ?? null,
      task.schedule?.fireAt ?? null,
    ],
  );
  if (inserted.rowCount === 0) {
    const existing = await q.query<{ task_uuid: string }>(
      'SELECT task_uuid FROM tasker.tasks WHERE identity_hash = $1',
      [task.identityHash],
    );
    throw new DuplicateTaskError(existing.rows[0]?.task_uuid ?? 'unknown');
  }

  const steps = template.steps;
  const { rows: stepRows } = await q.query<{ workflow_step_uuid: string; name: string }>(
    `INSERT INTO tasker.workflow_steps
       (task_uuid, named_step_uuid, name, handler, retryable, max_attempts, timeout_seconds,
        retry_policy, inputs)
     SELECT $1, ns.named_step_uuid, s.name, s.handler, s.retryable, s.max_attempts,
            s.timeout_seconds, s.retry_policy, s.inputs
       FROM unnest($2::text[], $3::text[], $4::boolean[], $5::int[], $6::int[], $7::jsonb[],
                   $8::jsonb[])
            AS s(name, handler, retryable, max_attempts, timeout_seconds, retry_policy, inputs)
       LEFT JOIN tasker.named_steps ns
         ON ns.named_task_uuid = $9 AND ns.name = s.name
     RETURNING workflow_step_uuid, name`,
    [
      taskUuid,
      steps.map((s) => s.name),
      steps.map((s) => s.handler),
      steps.map((s) => s.retryable),
      steps.map((s) => s.retry.maxAttempts),
      steps.map((s) => s.timeoutSeconds),
      steps.map((s) => JSON.stringify(s.retry)),
      steps.map((s) => JSON.stringify(s.inputs)),
      task.namedTaskUuid,
    ],
  );
  const uuidByName = new Map(stepRows.map((r) => [r.name, r.workflow_step_uuid]));
  const edges = steps.flatMap((s) =>
    s.dependsOn.map((parent) => [uuidByName.get(parent), uuidByName.get(s.name)] as const),
  );
  if (edges.length > 0) {
    await q.query(
      `INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid)
       SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
      [edges.map((e) => e[0]), edges.map((e) => e[1])],
    );
  }
  await q.query(
    `INSERT INTO tasker.workflow_step_transitions
       (workflow_step_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
     SELECT u, NULL, 'pending', 1, true, $2 FROM unnest($1::uuid[]) AS u`,
    [stepRows.map((r) => r.workflow_step_uuid), processorUuid],
  );
  await q.query(
    `INSERT INTO tasker.task_transitions
       (task_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
     VALUES ($1, NULL, 'pending', 1, false, $2),
            ($1, 'pending', 'initializing', 2, false, $2),
            ($1, 'initializing', 'enqueuing_steps', 3, true, $2)`,
    [taskUuid, processorUuid],
  );
  return { taskUuid, correlationId };
}
