/** A validated task template: a named, versioned DAG of steps (ARCHITECTURE §4). */
export type IdentityStrategy = 'strict' | 'caller_provided' | 'always_unique';

export const IDENTITY_STRATEGIES: readonly IdentityStrategy[] = [
  'strict',
  'caller_provided',
  'always_unique',
];

export interface RetryPolicy {
  /** Total runs allowed, the first one included. */
  maxAttempts: number;
  backoff: 'exponential' | 'fixed';
  backoffBaseMs: number;
  maxBackoffMs: number;
  /** Fraction (0..1) of random spread applied to each delay. */
  jitter: number;
}

export interface StepTemplate {
  name: string;
  handler: string;
  dependsOn: string[];
  retryable: boolean;
  retry: RetryPolicy;
  timeoutSeconds: number;
  /** Static inputs handed to the handler, from the template. */
  inputs: Record<string, unknown>;
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
