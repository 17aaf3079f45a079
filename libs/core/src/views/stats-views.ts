import type { TaskState } from '../states/task-state.js';

/** Tasks by current status (the overview's counts). */
export interface TaskCounts {
  /** Tasks whose current state is each state, at most `cap` (then "at least"). */
  byStatus: Record<TaskState, number>;
  cap: number;
}

export interface MinuteOfFinishes {
  /** Start of the minute (UTC, ISO 8601). */
  minute: string;
  complete: number;
  error: number;
}

export interface UpcomingFire {
  scheduleUuid: string;
  namespace: string;
  name: string;
  nextFireAt: string;
}

/** Messages waiting in one queue, as last read (at most 5 s ago). */
export interface QueueDepth {
  queue: string;
  depth: number;
}
