import type { ScheduleRunOutcome } from '#core';
import type { Queryable } from '../database.js';

export interface ScheduleRun {
  fireAt: Date;
  trigger: 'schedule' | 'manual';
  outcome: ScheduleRunOutcome;
  taskUuid: string | null;
  detail: string | null;
}

/**
 * Records what became of fires of one schedule, in one statement. A second record of the same
 * scheduled fire violates schedule_runs_fire_idx: the transaction that tried it rolls back.
 */
export async function recordScheduleRuns(
  tx: Queryable,
  scheduleUuid: string,
  runs: readonly ScheduleRun[],
): Promise<void> {
  if (runs.length === 0) return;
  await tx.query(
    `INSERT INTO tasker.schedule_runs (schedule_uuid, fire_at, trigger, outcome, task_uuid, detail)
     SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[])`,
    [
      scheduleUuid,
      runs.map((r) => r.fireAt),
      runs.map((r) => r.trigger),
      runs.map((r) => r.outcome),
      runs.map((r) => r.taskUuid),
      runs.map((r) => r.detail),
    ],
  );
}
