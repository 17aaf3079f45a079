import type { Queryable } from '../database.js';

/** Stores a result an operator supplied; downstream steps read it like a handler's. */
export async function setStepResult(
  q: Queryable,
  stepUuid: string,
  result: unknown,
): Promise<void> {
  await q.query(
    `UPDATE tasker.workflow_steps
        SET results = $2::jsonb, updated_at = now()
      WHERE workflow_step_uuid = $1`,
    [stepUuid, JSON.stringify(result ?? null)],
  );
}
