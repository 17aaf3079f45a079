import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import type { ConfigRecorder } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv, type TaskerEnv } from './tasker-env.js';

export const DEPLOYMENT_MODES = ['standard', 'migrate-only', 'no-migrate'] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKey {
  key: string;
  /** read: GET only; write: everything. */
  scope: ApiKeyScope;
}

/** Shorter keys are refused: they can be guessed. */
const MIN_API_KEY_LENGTH = 16;

export interface OrchestrationConfig {
  env: TaskerEnv;
  port: number;
  deploymentMode: DeploymentMode;
  migrationTimeoutSeconds: number;
  migrationRetries: number;
  templatePath: string;
  /** How often the sweep looks for steps whose retry time has come. */
  sweepIntervalMs: number;
  /** A step still `enqueued` this long after its announcement is announced again. */
  reannounceAfterMs: number;
  /**
   * Brokers outside the database: a step message owed by a replica that has not renewed its
   * claim for this long (it died, or lost the database) is taken over by another replica.
   */
  announceLeaseMs: number;
  /**
   * How many events may lead to one another (an event starts a task whose step publishes an
   * event that starts a task…) before an event starts nothing: the guard against trigger cycles.
   */
  eventMaxDepth: number;
  /** Empty: the API is open. Otherwise every /v1 request needs one of these in X-API-Key. */
  apiKeys: ApiKey[];
  /** POST /v1/tasks answers 503 while the namespace's queue holds more (0: never). */
  maxQueueDepth: number;
  /** An HTTP request taking longer is cut off. */
  requestTimeoutMs: number;
  /** Whether this replica fires due schedules (any number of replicas may). */
  schedulerEnabled: boolean;
  /** Longest wait between looks for due schedules; a known earlier fire wakes it sooner. */
  schedulerPollIntervalMs: number;
  /** PGMQ: how long a result message stays hidden while a replica processes it. */
  resultVisibilityTimeoutMs: number;
  /** How often this replica looks for stuck tasks. */
  stalenessIntervalMs: number;
  /** Bounds on what one decision or batchable step's outcome may add to its task. */
  dynamicSteps: { maxStepsPerDecision: number; maxDecisionDepth: number; maxBatchWorkers: number };
  /** Minutes in a state (or alive) after which a task is stuck; templates may override. */
  staleness: {
    waitingForDependenciesMinutes: number;
    waitingForRetryMinutes: number;
    stepsInProcessMinutes: number;
    maxLifetimeMinutes: number;
  };
}

/** TASKER_API_KEYS: comma-separated `key:scope` entries (scope read or write; default write). */
function parseApiKeys(read: ConfigReader): ApiKey[] {
  return read.secretList('TASKER_API_KEYS').flatMap((entry, index) => {
    const at = entry.lastIndexOf(':');
    const key = at > 0 ? entry.slice(0, at) : entry;
    const scope = at > 0 ? entry.slice(at + 1) : 'write';
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
      read.report(`TASKER_API_KEYS entry ${index + 1} has scope "${scope}"; use read or write`);
      return [];
    }
    if (key.length < MIN_API_KEY_LENGTH) {
      read.report(
        `TASKER_API_KEYS entry ${index + 1} is shorter than ${MIN_API_KEY_LENGTH} characters`,
      );
      return [];
    }
    return [{ key, scope: scope as ApiKeyScope }];
  });
}

export function parseOrchestrationConfig(
  values: ConfigValues,
  recorder?: ConfigRecorder,
): OrchestrationConfig {
  const read = new ConfigReader(values, recorder);
  return read.done({
    env: readTaskerEnv(read),
    port: read.integer('PORT', 8080, 0, 65535),
    deploymentMode: read.enumValue('DEPLOYMENT_MODE', DEPLOYMENT_MODES, 'standard'),
    migrationTimeoutSeconds: read.integer('DB_MIGRATION_TIMEOUT', 300, 1, 86400),
    migrationRetries: read.integer('DB_MIGRATION_RETRIES', 3, 0, 100),
    templatePath: read.string('TASKER_TEMPLATE_PATH', 'config/tasks'),
    sweepIntervalMs: read.integer('TASKER_SWEEP_INTERVAL_MS', 1000, 50, 3600000),
    reannounceAfterMs: read.integer('TASKER_REANNOUNCE_AFTER_MS', 300000, 1000, 86400000),
    announceLeaseMs: read.integer('TASKER_ANNOUNCE_LEASE_MS', 30000, 1000, 3600000),
    eventMaxDepth: read.integer('TASKER_EVENT_MAX_DEPTH', 8, 0, 1000),
    apiKeys: parseApiKeys(read),
    maxQueueDepth: read.integer('TASKER_MAX_QUEUE_DEPTH', 0, 0, 100000000),
    requestTimeoutMs: read.integer('TASKER_HTTP_REQUEST_TIMEOUT_MS', 30000, 1000, 600000),
    schedulerEnabled: read.boolean('TASKER_SCHEDULER_ENABLED', true),
    schedulerPollIntervalMs: read.integer('TASKER_SCHEDULER_POLL_INTERVAL_MS', 5000, 100, 3600000),
    resultVisibilityTimeoutMs: read.integer(
      'TASKER_RESULT_VISIBILITY_TIMEOUT_MS',
      30000,
      1000,
      3600000,
    ),
    stalenessIntervalMs: read.integer('TASKER_STALENESS_INTERVAL_MS', 60000, 100, 86400000),
    dynamicSteps: {
      maxStepsPerDecision: read.integer('TASKER_DECISION_MAX_STEPS', 100, 1, 100000),
      maxDecisionDepth: read.integer('TASKER_DECISION_MAX_DEPTH', 20, 1, 1000),
      maxBatchWorkers: read.integer('TASKER_BATCH_MAX_WORKERS', 1000, 1, 100000),
    },
    staleness: {
      waitingForDependenciesMinutes: read.integer(
        'TASKER_STALE_WAITING_FOR_DEPENDENCIES_MINUTES',
        60,
        1,
        525600,
      ),
      waitingForRetryMinutes: read.integer('TASKER_STALE_WAITING_FOR_RETRY_MINUTES', 60, 1, 525600),
      stepsInProcessMinutes: read.integer('TASKER_STALE_STEPS_IN_PROCESS_MINUTES', 60, 1, 525600),
      maxLifetimeMinutes: read.integer('TASKER_MAX_TASK_LIFETIME_MINUTES', 1440, 1, 525600),
    },
  });
}

export const orchestrationConfig = registerAs('orchestration', () =>
  parseOrchestrationConfig(configSource()),
);
