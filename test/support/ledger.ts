import type pg from 'pg';

/**
 * What a fault test asserts from the append-only transition tables once its run is over:
 * every task complete exactly once, every step completed exactly once, and every result a
 * worker recorded decided exactly once by orchestration (one transition out of each
 * enqueued-for-orchestration state per attempt).
 */
export async function expectCleanLedger(
  pool: pg.Pool,
  expected: { tasks: number; stepsPerTask: number },
): Promise<{ retriedSteps: number }> {
  const { rows: tasks } = await pool.query<{ state: string; completions: number }>(
    `SELECT tr.to_state AS state,
            (SELECT count(*)::int FROM tasker.task_transitions c
              WHERE c.task_uuid = t.task_uuid AND c.to_state = 'complete') AS completions
       FROM tasker.tasks t
       JOIN tasker.task_transitions tr ON tr.task_uuid = t.task_uuid AND tr.most_recent`,
  );
  expect(tasks).toHaveLength(expected.tasks);
  expect(tasks.filter((t) => t.state !== 'complete' || t.completions !== 1)).toEqual([]);

  const { rows: steps } = await pool.query<{
    completions: number;
    results: number;
    decisions: number;
    attempts: number;
  }>(
    `SELECT count(*) FILTER (WHERE tr.to_state = 'complete')::int AS completions,
            count(*) FILTER (WHERE tr.to_state IN ('enqueued_for_orchestration',
                                                   'enqueued_as_error_for_orchestration'))::int
              AS results,
            count(*) FILTER (WHERE tr.from_state IN ('enqueued_for_orchestration',
                                                     'enqueued_as_error_for_orchestration'))::int
              AS decisions,
            max(s.attempts)::int AS attempts
       FROM tasker.workflow_steps s
       JOIN tasker.workflow_step_transitions tr ON tr.workflow_step_uuid = s.workflow_step_uuid
      GROUP BY s.workflow_step_uuid`,
  );
  expect(steps).toHaveLength(expected.tasks * expected.stepsPerTask);
  expect(steps.filter((s) => s.completions !== 1 || s.decisions !== s.results)).toEqual([]);
  return { retriedSteps: steps.filter((s) => s.attempts > 1).length };
}
