import type { TaskState } from '#core';
import type { Queryable } from '../database.js';
import { SCHEDULE_COLUMNS, type ScheduleRecord } from '../repositories/schedule.repository.js';

export interface DueSchedule extends ScheduleRecord {
  nextFireAt: Date;
  /** Current state of the schedule's last task, if it still exists. */
  lastTaskState: TaskState | null;
}

/**
 * Locks one enabled schedule whose next fire is at or before `now` (SKIP LOCKED: replicas
 * claiming at once get different schedules). The lock holds until the caller's transaction
 * ends, and the caller moves next_fire_at on before committing, so a fire is handled once.
 */
export async function claimDueSchedule(tx: Queryable, now: Date): Promise<DueSchedule | null> {
  const { rows } = await tx.query<DueSchedule>(
    `WITH due AS (
       SELECT schedule_uuid FROM tasker.schedules
        WHERE enabled AND next_fire_at <= $1
        ORDER BY next_fire_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
     SELECT ${SCHEDULE_COLUMNS},
            (SELECT to_state FROM tasker.task_transitions
              WHERE task_uuid = s.last_task_uuid AND most_recent) AS "lastTaskState"
       FROM tasker.schedules s JOIN due USING (schedule_uuid)`,
    [now],
  );
  return rows[0] ?? null;
}
