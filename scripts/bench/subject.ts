import type { RunFeed } from './run-feed.js';
import type { SystemId, Topology } from './settings.js';
import type { Percentiles } from './stats.js';

/** A process of the system under test, for RSS and idle cost. */
export interface SubjectProcess {
  name: string;
  role: 'orchestration' | 'worker';
  pid: number | undefined;
}

/**
 * One system under test (Tasker with a backend and event mode, or a peer), set up on a
 * database of its own. The scenarios drive it only through this interface, so ours and the
 * peers are measured by the same code.
 */
export interface Subject {
  readonly id: SystemId;
  readonly label: string;
  readonly kind: 'tasker' | 'peer';
  /** Handler runs reported by the worker processes. */
  readonly feed: RunFeed;
  /** Database name, for its transaction counters. */
  readonly databaseName: string;
  /** Creates the database (and vhost) and starts whatever runs besides the workers. */
  setup(): Promise<void>;
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  /** Submits one single-step task (job) whose handler reports `key`; resolves when accepted. */
  submitSingle(key: string): Promise<void>;
  /** Starts a chain of `length` steps reporting `key`, step names ordered as they run. */
  submitChain(key: string, length: number): Promise<void>;
  /** Queues `count` tasks of `shape` (the workers are stopped); `onProgress` gets the count done. */
  queueBacklog(
    shape: 'single' | 'diamond',
    count: number,
    onProgress: (done: number) => void,
  ): Promise<void>;
  /**
   * Waits until every queued task has finished and returns when the last one did, in
   * monotonic ms: for Tasker the last task's completion, for a peer its last handler return.
   */
  finishedAt(tasks: number): Promise<number>;
  processes(): SubjectProcess[];
  /** The last lines each process printed, for a failure report. */
  tails(): string;
  /** Stops every process and removes the database (and vhost). Safe to call twice. */
  teardown(): Promise<void>;
}

/**
 * What the Tasker-only scenarios (transition-load, scaling, long-drain, noisy-neighbour,
 * limits-cost) need besides Subject: more processes, a second namespace, more templates, and
 * when each task of a batch completed.
 */
export interface TaskerBenchSubject extends Subject {
  readonly kind: 'tasker';
  /**
   * Stops the workers and brings the orchestration processes to `orchestrations` (the first
   * one stays); the next startWorkers starts `workers` worker processes, which serve the
   * namespace bench_load besides bench when `withLoad`.
   */
  reshape(topology: Topology, withLoad: boolean): Promise<void>;
  /**
   * Queues `count` single-step tasks of `template` under the correlation id `batch`, whose
   * handlers report the keys `${batch}-<i>`, `submitParallelism` at a time; with `tenantOf`,
   * the i-th task's context has `tenant: tenantOf(i)`.
   */
  queueBatch(
    batch: string,
    count: number,
    template: BatchTemplate,
    onProgress: (done: number) => void,
    tenantOf?: (i: number) => string,
  ): Promise<void>;
  /**
   * Submits `count` tasks of `template` for `tenant` under `batch` all at once, a POST each,
   * concurrently; resolves when all were accepted, with each task's key (`${batch}-<i>`) and
   * the wall-clock time (ms since the epoch) taken just before its request.
   */
  submitAtOnce(
    batch: string,
    count: number,
    template: BatchTemplate,
    tenant: string,
  ): Promise<Map<string, number>>;
  /**
   * Waits until all `count` tasks of `batch` have completed; returns their completed_at in
   * ascending order, in monotonic ms.
   */
  completionTimes(batch: string, count: number): Promise<number[]>;
  /**
   * Waits, at most `timeoutMs`, until all `count` tasks of `batch` have completed; returns
   * each one's completed_at by key, in wall-clock ms since the epoch (the database server's
   * clock, which is this machine's).
   */
  completedAtByKey(batch: string, count: number, timeoutMs: number): Promise<Map<string, number>>;
}

/**
 * The single-step templates a batch is made of: bench/single, bench_load/single (`load`),
 * bench/fair (tenant-limited, noisy-neighbour), and bench/limited and its twin without a limit,
 * bench/unlimited (limits-cost).
 */
export type BatchTemplate = 'single' | 'load' | 'fair' | 'limited' | 'unlimited';

export interface Drain {
  tasks: number;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
}

/** A long backlog drain: does the cost of a step grow with the history behind it? */
export interface LongDrain extends Drain {
  /** Steps per second over the first and the last tenth of the completions. */
  firstTenthStepsPerSecond: number;
  lastTenthStepsPerSecond: number;
}

/** Single-step drain throughput of one configuration. */
export interface ScalingPoint extends Topology {
  drain: Drain;
}

/** Step → next step transitions of chains run one at a time beside a single-step drain. */
export interface LoadedTransitions {
  transition: Percentiles;
  /** Chains measured (warm-up excluded): those that finished while the drain was running. */
  chains: number;
  /** The concurrent drain: its tasks and its steps per second from first to last completion. */
  loadTasks: number;
  loadStepsPerSecond: number;
}

/**
 * Tenant B's tasks (bench/fair, limited per tenant) on an idle system and beside tenant A's
 * backlog: each task's submission → its completed_at, in ms.
 */
export interface NoisyNeighbour {
  /** max_running per tenant of bench/fair. */
  maxRunning: number;
  idle: Percentiles;
  noisy: Percentiles;
  /** Tenant A's backlog: its tasks and its steps/s from its first to its last completed_at. */
  backlogTasks: number;
  backlogStepsPerSecond: number;
  /** A's tasks that completed after B's last one: B ran beside the backlog when above 0. */
  backlogLeft: number;
}

/** A single-step drain with a task-level limit per tenant that does not bind, and without. */
export interface LimitsCost {
  tenants: number;
  maxRunning: number;
  /** Every drain, in the order they ran, with the seconds its tasks took to submit. */
  drains: { template: 'plain' | 'limited'; drain: Drain; queueSeconds: number }[];
  /** Each template's drains together: their steps over their seconds. */
  plain: Drain;
  limited: Drain;
  /** What the limit costs: (plain − limited) ÷ plain steps/s, in %; below 0 when faster. */
  costPercent: number;
  /** The same for each round of drains alone, in the order they ran. */
  roundCostPercents: number[];
  /**
   * The same over submission and drain: a step that waits for a slot is enqueued during the
   * drain, where a plain one was enqueued at submission, before the drain's clock started.
   */
  withSubmission: { plain: Drain; limited: Drain; costPercent: number };
}

export interface IdleCost {
  windowSeconds: number;
  /** Queries (transactions) per second per replica, by role. */
  orchestration: number | null;
  worker: number;
}

export interface SystemResult {
  id: SystemId;
  label: string;
  kind: 'tasker' | 'peer';
  /** Submit (job add) → handler start, ms. */
  latency?: Percentiles;
  /** Handler return → next step's handler start, ms. */
  transition?: Percentiles;
  throughputSingle?: Drain;
  throughputDiamond?: Drain;
  idle?: IdleCost;
  // Tasker only: the transition-load, scaling and long-drain scenarios.
  transitionUnderLoad?: LoadedTransitions;
  scaling?: ScalingPoint[];
  longDrain?: LongDrain;
  // Tasker only: concurrency limits (noisy-neighbour, limits-cost).
  noisyNeighbour?: NoisyNeighbour;
  limitsCost?: LimitsCost;
  /** MiB at the end of the throughput runs, by process. */
  rss?: { process: string; mib: number }[];
  error?: string;
}
