import { Injectable } from '@nestjs/common';
import type {
  DlqEntryDetailView,
  DlqEntryView,
  DlqPage,
  DlqReason,
  DlqResolutionStatus,
  DlqStats,
} from '#core';
import { DlqEntryNotFoundError } from '#core';
import { Database } from '../database.js';

export interface DlqListFilter {
  status?: DlqResolutionStatus | undefined;
  reason?: DlqReason | undefined;
  namespace?: string | undefined;
  limit: number;
  /** The last dlqEntryUuid of the previous page (newest first). */
  cursor?: string | undefined;
}

export interface DlqResolution {
  resolutionStatus: DlqResolutionStatus;
  resolutionNotes?: string | undefined;
  resolvedBy?: string | undefined;
}

type Row = Omit<DlqEntryDetailView, 'resolvedAt' | 'createdAt' | 'updatedAt'> & {
  resolvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

const COLUMNS = `
  d.dlq_entry_uuid AS "dlqEntryUuid", d.task_uuid AS "taskUuid", ns.name AS namespace,
  nt.name AS name, d.reason, d.original_state AS "originalState",
  d.stuck_for_seconds AS "stuckForSeconds", d.threshold_minutes AS "thresholdMinutes",
  tr.to_state AS "taskStatus", d.resolution_status AS "resolutionStatus",
  d.resolution_notes AS "resolutionNotes", d.resolved_by AS "resolvedBy",
  d.resolved_at AS "resolvedAt", d.created_at AS "createdAt", d.updated_at AS "updatedAt"`;

const FROM = `
  FROM tasker.dlq_entries d
  JOIN tasker.tasks t ON t.task_uuid = d.task_uuid
  JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
  JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
  JOIN tasker.task_transitions tr ON tr.task_uuid = d.task_uuid AND tr.most_recent`;

/** DLQ entries for the API: reads, stats and an operator's resolution. */
@Injectable()
export class DlqRepository {
  constructor(private readonly database: Database) {}

  async list(filter: DlqListFilter): Promise<DlqPage> {
    const rows = await this.database.query<Row>(
      `SELECT ${COLUMNS} ${FROM}
        WHERE ($1::text IS NULL OR d.resolution_status = $1)
          AND ($2::text IS NULL OR d.reason = $2)
          AND ($3::text IS NULL OR ns.name = $3)
          AND ($4::uuid IS NULL OR d.dlq_entry_uuid < $4)
        ORDER BY d.dlq_entry_uuid DESC
        LIMIT $5`,
      [
        filter.status ?? null,
        filter.reason ?? null,
        filter.namespace ?? null,
        filter.cursor ?? null,
        filter.limit + 1,
      ],
    );
    const items = rows.slice(0, filter.limit).map(toView);
    return {
      items,
      nextCursor: rows.length > filter.limit ? (items.at(-1)?.dlqEntryUuid ?? null) : null,
    };
  }

  async get(dlqEntryUuid: string): Promise<DlqEntryDetailView> {
    const [row] = await this.database.query<Row>(
      `SELECT ${COLUMNS}, d.snapshot ${FROM} WHERE d.dlq_entry_uuid = $1`,
      [dlqEntryUuid],
    );
    if (!row) throw new DlqEntryNotFoundError(dlqEntryUuid);
    return { ...toView(row), snapshot: row.snapshot };
  }

  /** Records an operator's resolution; back to pending clears who and when. */
  async resolve(dlqEntryUuid: string, resolution: DlqResolution): Promise<DlqEntryDetailView> {
    const updated = await this.database.query(
      `UPDATE tasker.dlq_entries
          SET resolution_status = $2,
              resolution_notes = coalesce($3, resolution_notes),
              resolved_by = CASE WHEN $2 = 'pending' THEN NULL ELSE coalesce($4, resolved_by) END,
              resolved_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END,
              updated_at = now()
        WHERE dlq_entry_uuid = $1
        RETURNING dlq_entry_uuid`,
      [
        dlqEntryUuid,
        resolution.resolutionStatus,
        resolution.resolutionNotes ?? null,
        resolution.resolvedBy ?? null,
      ],
    );
    if (updated.length === 0) throw new DlqEntryNotFoundError(dlqEntryUuid);
    return this.get(dlqEntryUuid);
  }

  async stats(): Promise<DlqStats> {
    const [row] = await this.database.query<{
      total: number;
      by_status: DlqStats['byStatus'] | null;
      by_reason: DlqStats['byReason'] | null;
      oldest_pending: number | null;
    }>(
      `SELECT (SELECT count(*)::int FROM tasker.dlq_entries) AS total,
              (SELECT jsonb_object_agg(resolution_status, n) FROM
                 (SELECT resolution_status, count(*)::int AS n FROM tasker.dlq_entries
                   GROUP BY resolution_status) s) AS by_status,
              (SELECT jsonb_object_agg(reason, n) FROM
                 (SELECT reason, count(*)::int AS n FROM tasker.dlq_entries GROUP BY reason) r)
                AS by_reason,
              (SELECT extract(epoch FROM now() - min(created_at))::int FROM tasker.dlq_entries
                WHERE resolution_status = 'pending') AS oldest_pending`,
    );
    return {
      total: row?.total ?? 0,
      byStatus: row?.by_status ?? {},
      byReason: row?.by_reason ?? {},
      oldestPendingSeconds: row?.oldest_pending ?? null,
    };
  }
}

function toView(row: Row): DlqEntryView {
  return {
    dlqEntryUuid: row.dlqEntryUuid,
    taskUuid: row.taskUuid,
    namespace: row.namespace,
    name: row.name,
    reason: row.reason,
    originalState: row.originalState,
    stuckForSeconds: row.stuckForSeconds,
    thresholdMinutes: row.thresholdMinutes,
    taskStatus: row.taskStatus,
    resolutionStatus: row.resolutionStatus,
    resolutionNotes: row.resolutionNotes,
    resolvedBy: row.resolvedBy,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
