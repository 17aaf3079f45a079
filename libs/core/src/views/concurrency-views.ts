/** One key of a concurrency or rate limit, as GET /v1/concurrency lists it. */
export interface ConcurrencyKey {
  limit: string;
  /** task: a slot is held by a task until it ends; step: by a step's run until it is decided. */
  level: 'task' | 'step';
  key: string;
  maxRunning: number | null;
  /** Step starts allowed per ratePeriodMs (null: no rate limit). */
  rateLimit: number | null;
  ratePeriodMs: number | null;
  strategy: string;
  /** Slots held now. */
  running: number;
  /** Ready steps waiting for a slot or for the rate. */
  waiting: number;
  /** When the longest wait began (null: nothing waits). */
  oldestWaitingSince: string | null;
  /** When the rate lets the next waiting step start (null: it does not hold one back). */
  nextStartAt: string | null;
}
