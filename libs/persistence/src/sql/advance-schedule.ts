import type { Queryable } from '../database.js';

/**
 * Moves a schedule on after handling its fires: the next fire to wait for (null: none left),
 * and, when a task was created, the fire and task the overlap policy looks at.
 */
export async function advanceSchedule(
  tx: Queryable,
  scheduleUuid: string,
  change: {
    nextFireAt: Date | null;
    lastFireAt?: Date | undefined;
    lastTaskUuid?: string | undefined;
  },
): Promise<void> {
  await tx.query(
    `UPDATE tasker.schedules
        SET next_fire_at = $2,
            last_fire_at = COALESCE($3, last_fire_at),
            last_task_uuid = COALESCE($4, last_task_uuid),
            updated_at = now()
      WHERE schedule_uuid = $1`,
    [scheduleUuid, change.nextFireAt, change.lastFireAt ?? null, change.lastTaskUuid ?? null],
  );
}
