import type pg from 'pg';

export interface StepRowSpec {
  name: string;
  /** The step's current state (its only transition). */
  state: string;
  attempts?: number;
  maxAttempts?: number;
  /** Defaults to true, as in the table. */
  retryable?: boolean;
  /** For waiting_for_retry: seconds from now until the retry is due (negative: overdue). */
  retryInSeconds?: number;
  dependsOn?: string[];
}

/**
 * Writes a task straight into the tables, bypassing the submission path, in exactly the states
 * a persistence test needs: each step and the task get one current transition. Returns the
 * task's uuid and its steps' uuids by name.
 */
export async function insertTaskRows(
  q: pg.Pool | pg.PoolClient,
  spec: { namespace: string; taskState: string; steps: StepRowSpec[] },
): Promise<{ taskUuid: string; stepUuids: Record<string, string> }> {
  const { rows } = await q.query<{ task_uuid: string }>(
    `WITH ns AS (INSERT INTO tasker.task_namespaces (name) VALUES ($1) RETURNING *),
          nt AS (INSERT INTO tasker.named_tasks
                   (task_namespace_uuid, name, version, identity_strategy, configuration)
                 SELECT task_namespace_uuid, 'rows_test', '1.0.0', 'always_unique',
                        -- A template as registration stores one; its steps are written below.
                        jsonb_build_object('namespace', $1::text, 'name', 'rows_test',
                          'version', '1.0.0', 'identityStrategy', 'always_unique',
                          'inputSchema', '{}'::jsonb, 'steps', '[]'::jsonb,
                          'source', 'insertTaskRows')
                   FROM ns RETURNING *),
          t AS (INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, correlation_id)
                SELECT named_task_uuid, '{}', $1, 'c' FROM nt RETURNING *)
     INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, most_recent)
     SELECT task_uuid, $2, 1, true FROM t RETURNING task_uuid`,
    [spec.namespace, spec.taskState],
  );
  const taskUuid = rows[0]!.task_uuid;
  const stepUuids: Record<string, string> = {};
  for (const step of spec.steps) {
    const { rows: inserted } = await q.query<{ workflow_step_uuid: string }>(
      `WITH s AS (
         INSERT INTO tasker.workflow_steps
           (task_uuid, name, handler, max_attempts, attempts, timeout_seconds, retry_policy,
            next_retry_at, retryable)
         VALUES ($1, $2, 'test.handler', $3, $4, 30, '{}',
                 clock_timestamp() + make_interval(secs => $6::float8), $7)
         RETURNING workflow_step_uuid)
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, to_state, sort_key, most_recent)
       SELECT workflow_step_uuid, $5, 1, true FROM s RETURNING workflow_step_uuid`,
      [
        taskUuid,
        step.name,
        step.maxAttempts ?? 3,
        step.attempts ?? 0,
        step.state,
        step.retryInSeconds ?? null,
        step.retryable ?? true,
      ],
    );
    stepUuids[step.name] = inserted[0]!.workflow_step_uuid;
    for (const parent of step.dependsOn ?? []) {
      await q.query(
        'INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid) VALUES ($1, $2)',
        [stepUuids[parent], stepUuids[step.name]],
      );
    }
  }
  return { taskUuid, stepUuids };
}
