/** A validated task template: a named, versioned DAG of steps (ARCHITECTURE §4). */
export type IdentityStrategy = 'strict' | 'caller_provided' | 'always_unique';

export const IDENTITY_STRATEGIES: readonly IdentityStrategy[] = [
  'strict',
  'caller_provided',
  'always_unique',
];

/**
 * How the delay before a retry grows with the attempt: `fixed` and `none` (no delay) keep it
 * constant, `linear` is base × attempt, `fibonacci` base × fib(attempt), `exponential`
 * base × 2^(attempt-1). `none`, `linear` and `fibonacci` come from Tasker Core's templates.
 */
export type BackoffKind = 'exponential' | 'fixed' | 'linear' | 'fibonacci' | 'none';
export const BACKOFF_KINDS: readonly BackoffKind[] = [
  'exponential',
  'fixed',
  'linear',
  'fibonacci',
  'none',
];

export interface RetryPolicy {
  /** Total runs allowed, the first one included. */
  maxAttempts: number;
  backoff: BackoffKind;
  backoffBaseMs: number;
  maxBackoffMs: number;
  /** Fraction (0..1) of random spread applied to each delay. */
  jitter: number;
}

/**
 * Tasker Core's step types. `standard` runs like any step; the others shape the graph at run
 * time (a decision creates the branches it names, a batchable step fans out into batch workers
 * made from a `batch_worker` step, a deferred convergence step waits for whichever of its
 * parents were created).
 */
export type StepKind =
  'standard' | 'decision' | 'deferred_convergence' | 'batchable' | 'batch_worker';
export const STEP_KINDS: readonly StepKind[] = [
  'standard',
  'decision',
  'deferred_convergence',
  'batchable',
  'batch_worker',
];

/** When a step publishes a declared event (Tasker Core's `publishes_events`). */
export type EventCondition =
  'success' | 'failure' | 'retryable_failure' | 'permanent_failure' | 'always';
export const EVENT_CONDITIONS: readonly EventCondition[] = [
  'success',
  'failure',
  'retryable_failure',
  'permanent_failure',
  'always',
];
export type EventDelivery = 'durable' | 'fast' | 'broadcast';
export const EVENT_DELIVERIES: readonly EventDelivery[] = ['durable', 'fast', 'broadcast'];

export interface EventDeclaration {
  name: string;
  description?: string;
  condition: EventCondition;
  /** JSON Schema of the payload; `{}` accepts anything. */
  schema: Record<string, unknown>;
  delivery: EventDelivery;
  /** A custom publisher by name; absent means the default one. */
  publisher?: string;
}

export type BatchFailureStrategy = 'continue_on_failure' | 'fail_fast' | 'isolate';
export const BATCH_FAILURE_STRATEGIES: readonly BatchFailureStrategy[] = [
  'continue_on_failure',
  'fail_fast',
  'isolate',
];

/** Tasker Core's `batch_config` of a batch worker step. */
export interface BatchConfig {
  batchSize: number;
  parallelism: number;
  cursorField: string;
  /** The `batch_worker` step instantiated for each batch. */
  workerTemplate: string;
  failureStrategy: BatchFailureStrategy;
}

export interface StepTemplate {
  name: string;
  /** The handler's name; a Tasker Core template's `handler.callable`. */
  handler: string;
  dependsOn: string[];
  retryable: boolean;
  retry: RetryPolicy;
  timeoutSeconds: number;
  /** Static inputs handed to the handler, from the template. */
  inputs: Record<string, unknown>;
  /** Absent means `standard`. */
  kind?: StepKind;
  description?: string;
  /**
   * The handler's configuration: a Tasker Core template's `handler.initialization`, after the
   * overrides of the environment. Reaches the handler as its step config.
   */
  config?: Record<string, unknown>;
  /** Tasker Core's `handler.method`: the handler's entry point when it is not `call`. */
  handlerMethod?: string;
  /** Tasker Core's `handler.resolver`: which resolver finds the handler. */
  handlerResolver?: string;
  systemDependency?: string;
  publishesEvents?: EventDeclaration[];
  batch?: BatchConfig;
  /** A limit on this step's runs (held from enqueue until the result is decided). */
  concurrency?: ConcurrencyLimit;
}

/** Minutes a task may stay in a state before staleness detection gives up on it. */
export interface StalenessThresholds {
  waitingForDependenciesMinutes?: number;
  waitingForRetryMinutes?: number;
  stepsInProcessMinutes?: number;
  /** From submission, whatever the state. */
  maxLifetimeMinutes?: number;
}

export interface TaskTemplate {
  namespace: string;
  name: string;
  version: string;
  description?: string;
  identityStrategy: IdentityStrategy;
  /** JSON Schema the task context must satisfy; `{}` accepts anything. */
  inputSchema: Record<string, unknown>;
  /** Steps in a topological order (every step after all its dependencies). */
  steps: StepTemplate[];
  /** Overrides of the orchestration-wide staleness thresholds, for this template. */
  staleness?: StalenessThresholds;
  /** Where the template was read from, for error messages. */
  source: string;
  /** Absent for our own format. */
  format?: 'tasker_core';
  /** Tasker Core's `metadata` (author, tags, documentation_url, …), kept as written. */
  metadata?: Record<string, unknown>;
  /** Tasker Core's `system_dependencies`. */
  systemDependencies?: { primary: string; secondary: string[] };
  /** Events that start a task of this template, with the event's payload as context. */
  triggers?: string[];
  /** A limit on this template's tasks (held from the first step's start to the task's end). */
  concurrency?: ConcurrencyLimit;
  /** Tasker Core's `domain_events`: the events the template's steps may publish. */
  domainEvents?: { name: string; description?: string; schema: Record<string, unknown> }[];
  /** The TASKER_ENV whose `environments` overrides were applied, when the template had any. */
  environment?: string;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  backoff: 'exponential',
  backoffBaseMs: 1000,
  maxBackoffMs: 60000,
  jitter: 0.1,
};

export const DEFAULT_STEP_TIMEOUT_SECONDS = 30;

export function templateKey(t: { namespace: string; name: string; version: string }): string {
  return `${t.namespace}/${t.name}@${t.version}`;
}

/**
 * Flow control (README "Concurrency and rate limits"). A limit is declared at task level (a slot
 * is held by the task, from its first step's start to its end) or step level (by one run of the
 * step, from its enqueue until its result is decided). Slots are counted per key: the value of
 * a path into the task's context, fixed at submission.
 */
export type ConcurrencyStrategy = 'queue' | 'cancel_newest' | 'cancel_in_progress';
export const CONCURRENCY_STRATEGIES: readonly ConcurrencyStrategy[] = [
  'queue',
  'cancel_newest',
  'cancel_in_progress',
];

export interface RateLimit {
  /** Step starts allowed per period and key. */
  limit: number;
  periodMs: number;
}

export interface ConcurrencyLimit {
  /**
   * The limit's name: limits of one name share their slots, across steps and templates (a
   * downstream API's limit). Defaults to `<namespace>.<template>` or `<namespace>.<template>.<step>`.
   */
  name: string;
  /** The path in the context the key is read from (`context.a.b` → ['a', 'b']); absent: one key. */
  keyPath?: string[];
  /** The key (and the fairness group) when its path is absent or null. */
  defaultKey: string;
  /**
   * The path in the context of the task's fairness group: the key's waiting steps take turns
   * by group (round robin), not one queue in order of waiting; absent: one queue.
   */
  fairPath?: string[];
  maxRunning?: number;
  rate?: RateLimit;
  strategy: ConcurrencyStrategy;
}
