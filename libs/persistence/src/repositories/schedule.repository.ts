import { Injectable } from '@nestjs/common';
import type { ScheduleKind, ScheduleOverlap, ScheduleRunPage, ScheduleRunView } from '#core';
import { ScheduleNotFoundError } from '#core';
import { Database, type Queryable } from '../database.js';

/** A schedule row as stored. */
export interface ScheduleRecord {
  scheduleUuid: string;
  namespace: string;
  name: string;
  version: string | null;
  context: Record<string, unknown>;
  kind: ScheduleKind;
  expression: string;
  timezone: string;
  misfireGraceSeconds: number;
  overlap: ScheduleOverlap;
  enabled: boolean;
  description: string | null;
  nextFireAt: Date | null;
  snoozedUntil: Date | null;
  lastFireAt: Date | null;
  lastTaskUuid: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields a caller sets; the rest is kept by the firing. */
export type ScheduleFields = Pick<
  ScheduleRecord,
  | 'namespace'
  | 'name'
  | 'version'
  | 'context'
  | 'kind'
  | 'expression'
  | 'timezone'
  | 'misfireGraceSeconds'
  | 'overlap'
  | 'enabled'
  | 'description'
  | 'nextFireAt'
  | 'snoozedUntil'
>;

export const SCHEDULE_COLUMNS = `
  schedule_uuid AS "scheduleUuid", namespace, name, version, context, kind, expression, timezone,
  misfire_grace_seconds AS "misfireGraceSeconds", overlap, enabled, description,
  next_fire_at AS "nextFireAt", snoozed_until AS "snoozedUntil", last_fire_at AS "lastFireAt",
  last_task_uuid AS "lastTaskUuid", created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface ScheduleListFilter {
  namespace?: string | undefined;
  name?: string | undefined;
  enabled?: boolean | undefined;
  limit: number;
  /** The last scheduleUuid of the previous page (newest first). */
  cursor?: string | undefined;
}

/** ScheduleFields as statement parameters $1..$13, in the insert's column order. */
function fieldParams(fields: ScheduleFields): unknown[] {
  return [
    fields.namespace,
    fields.name,
    fields.version,
    JSON.stringify(fields.context),
    fields.kind,
    fields.expression,
    fields.timezone,
    fields.misfireGraceSeconds,
    fields.overlap,
    fields.enabled,
    fields.description,
    fields.nextFireAt,
    fields.snoozedUntil,
  ];
}

type RunRow = Omit<ScheduleRunView, 'fireAt' | 'createdAt'> & { fireAt: Date; createdAt: Date };

/** Schedule reads and writes for the API; the firing's claim lives in sql/. */
@Injectable()
export class ScheduleRepository {
  constructor(private readonly database: Database) {}

  async insert(fields: ScheduleFields): Promise<ScheduleRecord> {
    const [row] = await this.database.query<ScheduleRecord>(
      `INSERT INTO tasker.schedules
         (namespace, name, version, context, kind, expression, timezone, misfire_grace_seconds,
          overlap, enabled, description, next_fire_at, snoozed_until)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       RETURNING ${SCHEDULE_COLUMNS}`,
      fieldParams(fields),
    );
    return row!;
  }

  /** The schedule, locked for update when `q` is a transaction that asks for it. */
  async get(q: Queryable, scheduleUuid: string, lock = false): Promise<ScheduleRecord> {
    const { rows } = await q.query<ScheduleRecord>(
      `SELECT ${SCHEDULE_COLUMNS} FROM tasker.schedules WHERE schedule_uuid = $1
       ${lock ? 'FOR UPDATE' : ''}`,
      [scheduleUuid],
    );
    if (!rows[0]) throw new ScheduleNotFoundError(scheduleUuid);
    return rows[0];
  }

  async update(
    q: Queryable,
    scheduleUuid: string,
    fields: ScheduleFields,
  ): Promise<ScheduleRecord> {
    const { rows } = await q.query<ScheduleRecord>(
      `UPDATE tasker.schedules SET
         namespace = $1, name = $2, version = $3, context = $4::jsonb, kind = $5,
         expression = $6, timezone = $7, misfire_grace_seconds = $8, overlap = $9,
         enabled = $10, description = $11, next_fire_at = $12, snoozed_until = $13,
         updated_at = now()
       WHERE schedule_uuid = $14
       RETURNING ${SCHEDULE_COLUMNS}`,
      [...fieldParams(fields), scheduleUuid],
    );
    if (!rows[0]) throw new ScheduleNotFoundError(scheduleUuid);
    return rows[0];
  }

  async delete(scheduleUuid: string): Promise<void> {
    const rows = await this.database.query(
      'DELETE FROM tasker.schedules WHERE schedule_uuid = $1 RETURNING schedule_uuid',
      [scheduleUuid],
    );
    if (rows.length === 0) throw new ScheduleNotFoundError(scheduleUuid);
  }

  async list(filter: ScheduleListFilter): Promise<{
    items: ScheduleRecord[];
    nextCursor: string | null;
  }> {
    const rows = await this.database.query<ScheduleRecord>(
      `SELECT ${SCHEDULE_COLUMNS} FROM tasker.schedules
       WHERE ($1::text IS NULL OR namespace = $1)
         AND ($2::text IS NULL OR name = $2)
         AND ($3::boolean IS NULL OR enabled = $3)
         AND ($4::uuid IS NULL OR schedule_uuid < $4)
       ORDER BY schedule_uuid DESC
       LIMIT $5`,
      [
        filter.namespace ?? null,
        filter.name ?? null,
        filter.enabled ?? null,
        filter.cursor ?? null,
        filter.limit + 1,
      ],
    );
    const items = rows.slice(0, filter.limit);
    return {
      items,
      nextCursor: rows.length > filter.limit ? (items.at(-1)?.scheduleUuid ?? null) : null,
    };
  }

  /** Runs newest first, with each task's current state. */
  async runs(
    scheduleUuid: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<ScheduleRunPage> {
    await this.get(this.database.pool, scheduleUuid);
    const rows = await this.database.query<RunRow>(
      `SELECT r.schedule_run_uuid AS "scheduleRunUuid", r.fire_at AS "fireAt", r.trigger,
              r.outcome, r.task_uuid AS "taskUuid", tr.to_state AS "taskStatus", r.detail,
              r.created_at AS "createdAt"
         FROM tasker.schedule_runs r
         LEFT JOIN tasker.task_transitions tr ON tr.task_uuid = r.task_uuid AND tr.most_recent
        WHERE r.schedule_uuid = $1 AND ($2::uuid IS NULL OR r.schedule_run_uuid < $2)
        ORDER BY r.schedule_run_uuid DESC
        LIMIT $3`,
      [scheduleUuid, cursor ?? null, limit + 1],
    );
    const items = rows.slice(0, limit).map((r) => ({
      ...r,
      fireAt: r.fireAt.toISOString(),
      createdAt: r.createdAt.toISOString(),
    }));
    return {
      items,
      nextCursor: rows.length > limit ? (items.at(-1)?.scheduleRunUuid ?? null) : null,
    };
  }

  /** The earliest fire any enabled schedule waits for, or null when none does. */
  async earliestFire(): Promise<Date | null> {
    const [row] = await this.database.query<{ at: Date | null }>(
      'SELECT min(next_fire_at) AS at FROM tasker.schedules WHERE enabled AND next_fire_at IS NOT NULL',
    );
    return row?.at ?? null;
  }
}
