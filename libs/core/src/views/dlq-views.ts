import type { TaskState } from '../states/task-state.js';

export const DLQ_REASONS = [
  'stale_waiting_for_dependencies',
  'stale_waiting_for_retry',
  'stale_steps_in_process',
  'lifetime_exceeded',
] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

export const DLQ_RESOLUTION_STATUSES = [
  'pending',
  'manually_resolved',
  'permanently_failed',
  'cancelled',
] as const;
export type DlqResolutionStatus = (typeof DLQ_RESOLUTION_STATUSES)[number];

/** A task staleness detection moved to error, and what an operator did about it. */
export interface DlqEntryView {
  dlqEntryUuid: string;
  taskUuid: string;
  namespace: string;
  name: string;
  reason: DlqReason;
  originalState: TaskState;
  stuckForSeconds: number;
  thresholdMinutes: number;
  /** The task's current state (an operator may have moved it on since). */
  taskStatus: TaskState;
  resolutionStatus: DlqResolutionStatus;
  resolutionNotes: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DlqEntryDetailView extends DlqEntryView {
  /** The task and its steps when the entry was made. */
  snapshot: Record<string, unknown>;
}

export interface DlqPage {
  items: DlqEntryView[];
  nextCursor: string | null;
}

export interface DlqStats {
  total: number;
  byStatus: Partial<Record<DlqResolutionStatus, number>>;
  byReason: Partial<Record<DlqReason, number>>;
  /** Age in seconds of the oldest pending entry; null when none is pending. */
  oldestPendingSeconds: number | null;
}
