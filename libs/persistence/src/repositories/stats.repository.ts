import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  type MinuteOfFinishes,
  TASK_STATES,
  type TaskCounts,
  type TaskState,
  type UpcomingFire,
} from '#core';

/** Counts stop here: past it a dashboard shows "10,000+", and no count reads more entries. */
export const TASK_COUNT_CAP = 10_000;

/**
 * The overview's aggregate reads, through the small read pool (never the hot path's), each
 * bounded by an index so its cost does not grow with the number of tasks kept.
 */
@Injectable()
export class StatsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One capped count per state from task_transitions_current_state_idx (to_state, task_uuid)
   * WHERE most_recent: an index-only range read of at most TASK_COUNT_CAP + 1 entries each.
   */
  async taskCounts(): Promise<TaskCounts> {
    const rows = await this.dataSource.query<{ state: TaskState; n: number }[]>(
      `SELECT s.state,
              (SELECT count(*)::int FROM (
                 SELECT 1 FROM tasker.task_transitions
                  WHERE most_recent AND to_state = s.state
                  LIMIT $2) capped) AS n
         FROM unnest($1::text[]) AS s(state)`,
      [TASK_STATES, TASK_COUNT_CAP + 1],
    );
    const byStatus = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<
      TaskState,
      number
    >;
    for (const row of rows) byStatus[row.state] = Math.min(row.n, TASK_COUNT_CAP + 1);
    return { byStatus, cap: TASK_COUNT_CAP };
  }

  /**
   * Task transitions into complete and error per minute over the last `minutes`, oldest first,
   * every minute present (zeros included); read from task_transitions_finished_idx.
   */
  async finishesPerMinute(minutes: number): Promise<MinuteOfFinishes[]> {
    const rows = await this.dataSource.query<{ minute: Date; complete: number; error: number }[]>(
      // The window's start is written out in each place (not taken from a CTE) so the planner
      // estimates the range from the index's statistics; a CTE's value it cannot see.
      `WITH finished AS (
         SELECT date_trunc('minute', created_at) AS minute,
                count(*) FILTER (WHERE to_state = 'complete')::int AS complete,
                count(*) FILTER (WHERE to_state = 'error')::int AS error
           FROM tasker.task_transitions
          WHERE to_state IN ('complete', 'error')
            AND created_at >= date_trunc('minute', now()) - make_interval(mins => $1 - 1)
          GROUP BY 1)
       SELECT m.minute, coalesce(f.complete, 0) AS complete, coalesce(f.error, 0) AS error
         FROM generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1),
                              date_trunc('minute', now()), interval '1 minute') AS m(minute)
         LEFT JOIN finished f ON f.minute = m.minute
        ORDER BY m.minute`,
      [minutes],
    );
    return rows.map((r) => ({
      minute: r.minute.toISOString(),
      complete: r.complete,
      error: r.error,
    }));
  }

  /** The enabled schedules that fire next, soonest first (schedules_due_idx). */
  async upcomingFires(limit: number): Promise<UpcomingFire[]> {
    const rows = await this.dataSource.query<
      (Omit<UpcomingFire, 'nextFireAt'> & { nextFireAt: Date })[]
    >(
      `SELECT schedule_uuid AS "scheduleUuid", namespace, name, next_fire_at AS "nextFireAt"
         FROM tasker.schedules
        WHERE enabled AND next_fire_at IS NOT NULL
        ORDER BY next_fire_at
        LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ ...r, nextFireAt: r.nextFireAt.toISOString() }));
  }
}
