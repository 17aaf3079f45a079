import type { ScheduleKind } from '../schedules/schedule-expression.js';
import type { TaskState } from '../states/task-state.js';

export const SCHEDULE_OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type ScheduleOverlap = (typeof SCHEDULE_OVERLAP_POLICIES)[number];

/** What became of one fire (or manual run) of a schedule. */
export type ScheduleRunOutcome =
  /** A task was created. */
  | 'created'
  /** The fire was older than the misfire grace when a replica got to it: not run. */
  | 'misfired'
  /** Several fires were due at once within the grace: only the latest ran. */
  | 'coalesced'
  /** overlap: skip, and the schedule's previous task was still running. */
  | 'skipped_overlap'
  /** The task could not be created (e.g. the context no longer fits the template). */
  | 'failed';

export interface ScheduleView {
  scheduleUuid: string;
  namespace: string;
  name: string;
  /** null: the highest registered version at each fire. */
  version: string | null;
  context: Record<string, unknown>;
  kind: ScheduleKind;
  expression: string;
  timezone: string;
  misfireGraceSeconds: number;
  overlap: ScheduleOverlap;
  enabled: boolean;
  description: string | null;
  nextFireAt: string | null;
  snoozedUntil: string | null;
  lastFireAt: string | null;
  lastTaskUuid: string | null;
  /** The next five fires (after pauses and snoozes); empty while paused. */
  upcomingFires: string[];
  createdAt: string;
  updatedAt: string;
}

export interface SchedulePage {
  items: ScheduleView[];
  nextCursor: string | null;
}

export interface ScheduleRunView {
  scheduleRunUuid: string;
  fireAt: string;
  trigger: 'schedule' | 'manual';
  outcome: ScheduleRunOutcome;
  taskUuid: string | null;
  /** The task's current state, while the task exists. */
  taskStatus: TaskState | null;
  detail: string | null;
  createdAt: string;
}

export interface ScheduleRunPage {
  items: ScheduleRunView[];
  nextCursor: string | null;
}
