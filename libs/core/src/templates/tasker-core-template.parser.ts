import { TemplateValidationError } from '../errors/tasker.error.js';
import {
  BATCH_FAILURE_STRATEGIES,
  type BatchConfig,
  type BatchFailureStrategy,
  DEFAULT_RETRY_POLICY,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  EVENT_CONDITIONS,
  EVENT_DELIVERIES,
  type EventCondition,
  type EventDeclaration,
  type EventDelivery,
  type RetryPolicy,
  STEP_KINDS,
  type StalenessThresholds,
  type StepKind,
  type StepTemplate,
  type TaskTemplate,
} from './task-template.js';
import {
  isIntegerIn,
  isMapping,
  type Mapping,
  readBackoffDelays,
  readBackoffKind,
  readHandlerName,
  readName,
  readNamespace,
  readOptionalString,
  readSchema,
  readStalenessMinutes,
  isEventName,
  readStepNames,
  readTriggers,
  readSteps,
  readTimeout,
  readVersion,
  show,
  suggestKey,
} from './template-parse.helpers.js';
import { concurrencyProblems, readConcurrency } from './concurrency.js';

/**
 * Tasker Core's template format (its `TaskTemplate` model): `namespace_name`, steps with a
 * `handler` mapping, `dependencies`, `type`, `retry` with `retryable` inside, `environments`
 * overrides, `lifecycle` thresholds. Read into the same model as ours.
 *
 * Tasker Core ignores keys it does not know; so do we, with a warning, except for a key that
 * looks like a misspelt known one (`dependecies`), which is a problem: ignoring it would change
 * the workflow without a word.
 */

const TOP_LEVEL_KEYS = [
  'name',
  'namespace_name',
  'version',
  'description',
  'metadata',
  'system_dependencies',
  'domain_events',
  'triggers',
  'input_schema',
  'steps',
  'environments',
  'lifecycle',
  'concurrency',
];
const STEP_KEYS = [
  'name',
  'description',
  'handler',
  'type',
  'step_type',
  'system_dependency',
  'dependencies',
  'depends_on',
  'retry',
  'timeout_seconds',
  'publishes_events',
  'batch_config',
  'result_schema',
  'composition',
  'concurrency',
];
const HANDLER_KEYS = ['callable', 'method', 'resolver', 'initialization'];
const RETRY_KEYS = [
  'retryable',
  'max_attempts',
  'limit',
  'backoff',
  'backoff_base_ms',
  'max_backoff_ms',
];
const LIFECYCLE_KEYS = {
  max_duration_minutes: 'maxLifetimeMinutes',
  max_waiting_for_dependencies_minutes: 'waitingForDependenciesMinutes',
  max_waiting_for_retry_minutes: 'waitingForRetryMinutes',
  max_steps_in_process_minutes: 'stepsInProcessMinutes',
} as const satisfies Record<string, keyof StalenessThresholds>;
const LIFECYCLE_OTHER_KEYS = ['staleness_action', 'auto_fail_on_timeout', 'auto_dlq_on_timeout'];
const SYSTEM_DEPENDENCY_KEYS = ['primary', 'secondary'];
const DOMAIN_EVENT_KEYS = ['name', 'description', 'schema'];
const EVENT_DECLARATION_KEYS = [
  'name',
  'description',
  'condition',
  'schema',
  'delivery_mode',
  'publisher',
];
const BATCH_CONFIG_KEYS = [
  'batch_size',
  'parallelism',
  'cursor_field',
  'worker_template',
  'failure_strategy',
];
const ENVIRONMENT_KEYS = ['steps'];
const STEP_OVERRIDE_KEYS = ['name', 'handler', 'timeout_seconds', 'retry'];
const HANDLER_OVERRIDE_KEYS = ['initialization'];
/** An override with this name applies to every step. */
const ALL_STEPS = 'ALL';
/** `namespace.action`: lower case, digits and `_`, at least one dot. */
/** Tasker Core's retry defaults (ours allow 60 s between retries; its cap is 30 s). */
const TASKER_CORE_RETRY_POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxBackoffMs: 30000 };

/** Tasker Core's templates name their namespace `namespace_name`; ours say `namespace`. */
export function isTaskerCoreTemplate(raw: Mapping): boolean {
  return 'namespace_name' in raw;
}

export function parseTaskerCoreTemplate(
  raw: Mapping,
  source: string,
  options: { environment?: string; warnings?: string[] },
): TaskTemplate {
  const problems: string[] = [];
  const reader = new KeyChecker(problems, options.warnings ?? []);
  reader.check(raw, TOP_LEVEL_KEYS, '');
  if ('namespace' in raw) {
    problems.push(
      'namespace and namespace_name are both set: Tasker Core templates use namespace_name only',
    );
  }

  const namespace = readNamespace(raw, 'namespace_name', problems);
  const name = readName(raw, 'name', '', problems);
  const version = readVersion(raw, problems);
  const description = readOptionalString(raw, 'description', '', problems);
  const inputSchema = readSchema(raw.input_schema, 'input_schema', problems);

  let metadata: Mapping | undefined;
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (isMapping(raw.metadata)) metadata = structuredClone(raw.metadata);
    else problems.push(`metadata must be a mapping, got ${show(raw.metadata)}`);
  }

  const systemDependencies = readSystemDependencies(raw.system_dependencies, reader, problems);
  const domainEvents = readList(raw.domain_events, 'domain_events', problems, (entry, what) =>
    readDomainEvent(entry, what, reader, problems),
  );
  const staleness = readLifecycle(raw.lifecycle, reader, problems);
  const triggers = readTriggers(raw.triggers, problems);
  const limitPrefix = `${String(raw.namespace_name)}.${String(raw.name)}`;
  const concurrency = readConcurrency(raw.concurrency, 'concurrency', limitPrefix, problems);

  const overrides = readEnvironments(raw.environments, reader, problems);
  const stepNames = Array.isArray(raw.steps)
    ? raw.steps.flatMap((s: unknown) =>
        isMapping(s) && typeof s.name === 'string' ? [s.name] : [],
      )
    : [];
  for (const [env, list] of overrides) {
    for (const override of list) {
      if (override.name !== ALL_STEPS && !stepNames.includes(override.name)) {
        problems.push(
          `environments.${env}: step '${override.name}' is not a step of this template (name a step, or ALL for every step)`,
        );
      }
    }
  }
  const applied =
    options.environment === undefined ? [] : (overrides.get(options.environment) ?? []);

  const steps = readSteps(raw.steps, problems, (rawStep, index) =>
    parseStep(rawStep, index, applied, limitPrefix, reader, problems),
  );
  problems.push(...batchProblems(steps), ...concurrencyProblems(concurrency, steps));

  if (problems.length > 0) {
    throw new TemplateValidationError(source, problems);
  }
  return {
    namespace,
    name,
    version,
    ...(description !== undefined ? { description } : {}),
    identityStrategy: 'strict',
    inputSchema,
    steps,
    ...(staleness !== undefined ? { staleness } : {}),
    source,
    format: 'tasker_core',
    ...(metadata !== undefined ? { metadata } : {}),
    systemDependencies,
    domainEvents,
    ...(triggers.length > 0 ? { triggers } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(overrides.size > 0 && options.environment !== undefined
      ? { environment: options.environment }
      : {}),
  };
}

/** Unknown keys: a problem when they look like a misspelt known key, else a warning. */
class KeyChecker {
  constructor(
    private readonly problems: string[],
    private readonly warnings: string[],
  ) {}

  check(raw: Mapping, known: readonly string[], prefix: string): void {
    for (const key of Object.keys(raw)) {
      if (known.includes(key)) continue;
      const suggestion = suggestKey(key, known);
      if (suggestion !== undefined) {
        this.problems.push(`${prefix}unknown key '${key}' (did you mean '${suggestion}'?)`);
      } else {
        this.warnings.push(`${prefix}unknown key '${key}' is ignored`);
      }
    }
  }
}

/** One step override of an environment, read and checked once. */
interface StepOverride {
  name: string;
  initialization?: Mapping;
  timeoutSeconds?: number;
  retry?: { retryable: boolean; policy: RetryPolicy };
}

function readEnvironments(
  raw: unknown,
  reader: KeyChecker,
  problems: string[],
): Map<string, StepOverride[]> {
  const environments = new Map<string, StepOverride[]>();
  if (raw === undefined || raw === null) return environments;
  if (!isMapping(raw)) {
    problems.push(`environments must be a mapping of environment names, got ${show(raw)}`);
    return environments;
  }
  for (const [env, body] of Object.entries(raw)) {
    const prefix = `environments.${env}`;
    if (body === null) continue;
    if (!isMapping(body)) {
      problems.push(`${prefix} must be a mapping with steps, got ${show(body)}`);
      continue;
    }
    reader.check(body, ENVIRONMENT_KEYS, `${prefix}: `);
    const list = readList(body.steps, `${prefix}.steps`, problems, (entry, what) =>
      readStepOverride(entry, what, reader, problems),
    );
    environments.set(env, list);
  }
  return environments;
}

function readStepOverride(
  raw: unknown,
  what: string,
  reader: KeyChecker,
  problems: string[],
): StepOverride | null {
  if (!isMapping(raw)) {
    problems.push(`${what} must be a mapping with the step's name, got ${show(raw)}`);
    return null;
  }
  if (typeof raw.name !== 'string' || raw.name === '') {
    problems.push(`${what}: name is required (a step's name, or ALL)`);
    return null;
  }
  const label = `${what} ('${raw.name}')`;
  reader.check(raw, STEP_OVERRIDE_KEYS, `${label}: `);
  const override: StepOverride = { name: raw.name };
  if (raw.handler !== undefined && raw.handler !== null) {
    if (!isMapping(raw.handler)) {
      problems.push(
        `${label}: handler must be a mapping with initialization, got ${show(raw.handler)}`,
      );
    } else {
      reader.check(raw.handler, HANDLER_OVERRIDE_KEYS, `${label}: handler: `);
      const init = raw.handler.initialization;
      if (isMapping(init)) override.initialization = init;
      else if (init !== undefined && init !== null) {
        problems.push(`${label}: handler.initialization must be a mapping, got ${show(init)}`);
      }
    }
  }
  if (raw.timeout_seconds !== undefined && raw.timeout_seconds !== null) {
    override.timeoutSeconds = readTimeout(
      raw.timeout_seconds,
      `${label}: timeout_seconds`,
      DEFAULT_STEP_TIMEOUT_SECONDS,
      problems,
    );
  }
  if (raw.retry !== undefined && raw.retry !== null) {
    override.retry = readRetry(raw.retry, `${label}: retry`, reader, problems);
  }
  return override;
}

function parseStep(
  raw: unknown,
  index: number,
  overrides: readonly StepOverride[],
  limitPrefix: string,
  reader: KeyChecker,
  problems: string[],
): StepTemplate | null {
  const position = `step #${index + 1}`;
  if (!isMapping(raw)) {
    problems.push(
      `${position}: must be a mapping with at least name and handler, got ${show(raw)}`,
    );
    return null;
  }
  const label =
    typeof raw.name === 'string' && raw.name.length > 0 ? `step '${raw.name}'` : position;
  reader.check(raw, STEP_KEYS, `${label}: `);
  const name = readName(raw, 'name', `${label}: `, problems);
  const description = readOptionalString(raw, 'description', `${label}: `, problems);

  // The environment's overrides, in the order written: ALL and this step's own.
  const mine = overrides.filter((o) => o.name === ALL_STEPS || o.name === raw.name);
  let config: Mapping = {};
  let handler = '';
  let handlerMethod: string | undefined;
  let handlerResolver: string | undefined;
  if (raw.handler === undefined || raw.handler === null) {
    problems.push(`${label}: handler is required (a mapping with callable)`);
  } else if (!isMapping(raw.handler)) {
    const hint =
      typeof raw.handler === 'string' ? ` (write handler: {callable: ${raw.handler}})` : '';
    problems.push(
      `${label}: handler must be a mapping with callable, got ${show(raw.handler)}${hint}`,
    );
  } else {
    const h = raw.handler;
    reader.check(h, HANDLER_KEYS, `${label}: handler: `);
    handler = readHandlerName(h.callable, `${label}: handler.callable`, problems);
    handlerMethod = readOptionalString(h, 'method', `${label}: handler.`, problems);
    handlerResolver = readOptionalString(h, 'resolver', `${label}: handler.`, problems);
    if (isMapping(h.initialization)) config = structuredClone(h.initialization);
    else if (h.initialization !== undefined && h.initialization !== null) {
      problems.push(
        `${label}: handler.initialization must be a mapping, got ${show(h.initialization)}`,
      );
    }
  }
  for (const o of mine)
    if (o.initialization) config = { ...config, ...structuredClone(o.initialization) };

  const kind = readKind(raw, label, problems);
  if (raw.dependencies !== undefined && raw.depends_on !== undefined) {
    problems.push(`${label}: dependencies and depends_on are both set: write one`);
  }
  const dependsOn = readStepNames(
    raw.dependencies ?? raw.depends_on,
    `${label}: ${raw.dependencies !== undefined ? 'dependencies' : 'depends_on'}`,
    problems,
  );

  // The step's own values are always checked; an override, checked where it is written, wins.
  const own = readRetry(raw.retry, `${label}: retry`, reader, problems);
  const { retryable, policy } = mine.findLast((o) => o.retry !== undefined)?.retry ?? own;
  const ownTimeout = readTimeout(
    raw.timeout_seconds,
    `${label}: timeout_seconds`,
    DEFAULT_STEP_TIMEOUT_SECONDS,
    problems,
  );
  const timeoutSeconds =
    mine.findLast((o) => o.timeoutSeconds !== undefined)?.timeoutSeconds ?? ownTimeout;
  const systemDependency = readOptionalString(raw, 'system_dependency', `${label}: `, problems);
  const publishesEvents = readList(
    raw.publishes_events,
    `${label}: publishes_events`,
    problems,
    (entry, what) => readEventDeclaration(entry, what, reader, problems),
  );
  if (raw.result_schema !== undefined)
    readSchema(raw.result_schema, `${label}: result_schema`, problems);
  const batch = readBatchConfig(raw.batch_config, label, reader, problems);
  const concurrency = readConcurrency(
    raw.concurrency,
    `${label}: concurrency`,
    `${limitPrefix}.${String(raw.name)}`,
    problems,
  );

  if (typeof raw.name !== 'string' || raw.name.length === 0) return null;
  return {
    name: name || raw.name,
    handler,
    dependsOn,
    retryable,
    retry: policy,
    timeoutSeconds,
    inputs: {},
    kind,
    ...(description !== undefined ? { description } : {}),
    config,
    ...(handlerMethod !== undefined ? { handlerMethod } : {}),
    ...(handlerResolver !== undefined ? { handlerResolver } : {}),
    ...(systemDependency !== undefined ? { systemDependency } : {}),
    publishesEvents,
    ...(batch !== undefined ? { batch } : {}),
    ...(concurrency ? { concurrency } : {}),
  };
}

function readKind(raw: Mapping, label: string, problems: string[]): StepKind {
  const written = raw.type ?? raw.step_type;
  if (raw.type !== undefined && raw.step_type !== undefined && raw.type !== raw.step_type) {
    problems.push(
      `${label}: type and step_type disagree (${show(raw.type)}, ${show(raw.step_type)}): write one`,
    );
  }
  if (written === undefined || written === null) return 'standard';
  if (typeof written === 'string' && (STEP_KINDS as readonly string[]).includes(written)) {
    return written as StepKind;
  }
  problems.push(`${label}: type must be one of ${STEP_KINDS.join(', ')}, got ${show(written)}`);
  return 'standard';
}

/**
 * Tasker Core's `retry`: `retryable` lives here, `limit` is the old name of `max_attempts`, and
 * `max_attempts: 0` allows the first run only, as `1` does (the first run never depends on it).
 */
function readRetry(
  raw: unknown,
  prefix: string,
  reader: KeyChecker,
  problems: string[],
): { retryable: boolean; policy: RetryPolicy } {
  const policy: RetryPolicy = { ...TASKER_CORE_RETRY_POLICY };
  let retryable = true;
  if (raw === undefined || raw === null) return { retryable, policy };
  if (!isMapping(raw)) {
    problems.push(`${prefix} must be a mapping, got ${show(raw)}`);
    return { retryable, policy };
  }
  reader.check(raw, RETRY_KEYS, `${prefix}: `);
  if (raw.retryable !== undefined && raw.retryable !== null) {
    if (typeof raw.retryable === 'boolean') retryable = raw.retryable;
    else problems.push(`${prefix}.retryable must be true or false, got ${show(raw.retryable)}`);
  }
  if (raw.max_attempts !== undefined && raw.limit !== undefined) {
    problems.push(`${prefix}: max_attempts and limit are both set: write max_attempts`);
  }
  const attemptsKey = raw.max_attempts !== undefined ? 'max_attempts' : 'limit';
  const attempts = raw[attemptsKey];
  if (attempts !== undefined && attempts !== null) {
    if (isIntegerIn(attempts, 0, Number.MAX_SAFE_INTEGER))
      policy.maxAttempts = Math.max(1, attempts);
    else problems.push(`${prefix}.${attemptsKey} must be an integer >= 0, got ${show(attempts)}`);
  }
  if (raw.backoff !== undefined && raw.backoff !== null) {
    const kind = readBackoffKind(raw.backoff, `${prefix}.backoff`, problems);
    if (kind !== undefined) policy.backoff = kind;
  }
  readBackoffDelays(raw, policy, prefix, problems);
  return { retryable, policy };
}

function readLifecycle(
  raw: unknown,
  reader: KeyChecker,
  problems: string[],
): StalenessThresholds | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    problems.push(`lifecycle must be a mapping, got ${show(raw)}`);
    return undefined;
  }
  reader.check(raw, [...Object.keys(LIFECYCLE_KEYS), ...LIFECYCLE_OTHER_KEYS], 'lifecycle: ');
  // What Tasker does with a stale task: error, and a DLQ entry. Other choices would be ignored.
  if (
    raw.staleness_action !== undefined &&
    raw.staleness_action !== null &&
    raw.staleness_action !== 'dlq'
  ) {
    problems.push(
      `lifecycle.staleness_action ${show(raw.staleness_action)} is not supported: a stale task is moved to error with a DLQ entry (staleness_action: dlq)`,
    );
  }
  for (const key of ['auto_fail_on_timeout', 'auto_dlq_on_timeout']) {
    const value = raw[key];
    if (value !== undefined && value !== null && value !== true) {
      problems.push(
        `lifecycle.${key} ${show(value)} is not supported: a stale task is always moved to error with a DLQ entry`,
      );
    }
  }
  return readStalenessMinutes(raw, LIFECYCLE_KEYS, 'lifecycle.', problems);
}

function readSystemDependencies(
  raw: unknown,
  reader: KeyChecker,
  problems: string[],
): { primary: string; secondary: string[] } {
  const result = { primary: 'default', secondary: [] as string[] };
  if (raw === undefined || raw === null) return result;
  if (!isMapping(raw)) {
    problems.push(
      `system_dependencies must be a mapping with primary and secondary, got ${show(raw)}`,
    );
    return result;
  }
  reader.check(raw, SYSTEM_DEPENDENCY_KEYS, 'system_dependencies: ');
  result.primary =
    readOptionalString(raw, 'primary', 'system_dependencies.', problems) ?? result.primary;
  const secondary = raw.secondary;
  if (Array.isArray(secondary) && secondary.every((s) => typeof s === 'string')) {
    result.secondary = [...secondary];
  } else if (secondary !== undefined && secondary !== null) {
    problems.push(`system_dependencies.secondary must be a list of names, got ${show(secondary)}`);
  }
  return result;
}

function readDomainEvent(
  raw: unknown,
  what: string,
  reader: KeyChecker,
  problems: string[],
): { name: string; description?: string; schema: Mapping } | null {
  if (!isMapping(raw)) {
    problems.push(`${what} must be a mapping with name, got ${show(raw)}`);
    return null;
  }
  reader.check(raw, DOMAIN_EVENT_KEYS, `${what}: `);
  const name = readEventName(raw.name, what, problems);
  const description = readOptionalString(raw, 'description', `${what}: `, problems);
  const schema = readSchema(raw.schema, `${what}: schema`, problems);
  if (name === null) return null;
  return { name, ...(description !== undefined ? { description } : {}), schema };
}

function readEventDeclaration(
  raw: unknown,
  what: string,
  reader: KeyChecker,
  problems: string[],
): EventDeclaration | null {
  if (!isMapping(raw)) {
    problems.push(`${what} must be a mapping with name, got ${show(raw)}`);
    return null;
  }
  const label = typeof raw.name === 'string' ? `${what} ('${raw.name}')` : what;
  reader.check(raw, EVENT_DECLARATION_KEYS, `${label}: `);
  const name = readEventName(raw.name, label, problems);
  const description = readOptionalString(raw, 'description', `${label}: `, problems);
  const condition = readChoice<EventCondition>(
    raw.condition,
    EVENT_CONDITIONS,
    'success',
    `${label}: condition`,
    problems,
  );
  const delivery = readChoice<EventDelivery>(
    raw.delivery_mode,
    EVENT_DELIVERIES,
    'durable',
    `${label}: delivery_mode`,
    problems,
  );
  const schema = readSchema(raw.schema, `${label}: schema`, problems);
  const publisher = readOptionalString(raw, 'publisher', `${label}: `, problems);
  if (name === null) return null;
  return {
    name,
    ...(description !== undefined ? { description } : {}),
    condition,
    schema,
    delivery,
    ...(publisher !== undefined ? { publisher } : {}),
  };
}

function readEventName(value: unknown, what: string, problems: string[]): string | null {
  if (isEventName(value)) return value;
  problems.push(
    `${what}: name must look like namespace.action (lower case, digits, _ and at least one dot), got ${show(value)}`,
  );
  return null;
}

function readBatchConfig(
  raw: unknown,
  label: string,
  reader: KeyChecker,
  problems: string[],
): BatchConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const prefix = `${label}: batch_config`;
  if (!isMapping(raw)) {
    problems.push(`${prefix} must be a mapping, got ${show(raw)}`);
    return undefined;
  }
  reader.check(raw, BATCH_CONFIG_KEYS, `${prefix}: `);
  const count = (key: string, fallback: number, max: number): number => {
    const value = raw[key];
    if (value === undefined || value === null) return fallback;
    if (isIntegerIn(value, 1, max)) return value;
    problems.push(`${prefix}.${key} must be an integer from 1 to ${max}, got ${show(value)}`);
    return fallback;
  };
  const workerTemplate = raw.worker_template;
  if (typeof workerTemplate !== 'string' || workerTemplate === '') {
    problems.push(`${prefix}.worker_template is required (the batch_worker step to instantiate)`);
  }
  return {
    batchSize: count('batch_size', 1000, 100000),
    parallelism: count('parallelism', 10, 1000),
    cursorField: readOptionalString(raw, 'cursor_field', `${prefix}.`, problems) ?? 'id',
    workerTemplate: typeof workerTemplate === 'string' ? workerTemplate : '',
    failureStrategy: readChoice<BatchFailureStrategy>(
      raw.failure_strategy,
      BATCH_FAILURE_STRATEGIES,
      'continue_on_failure',
      `${prefix}.failure_strategy`,
      problems,
    ),
  };
}

/** A batch config names a `batch_worker` step of the template. */
function batchProblems(steps: readonly StepTemplate[]): string[] {
  return steps.flatMap((step) => {
    const target = step.batch?.workerTemplate;
    if (target === undefined || target === '') return [];
    const worker = steps.find((s) => s.name === target);
    if (worker === undefined) {
      return [
        `step '${step.name}': batch_config.worker_template '${target}' is not a step of this template`,
      ];
    }
    if (worker.kind !== 'batch_worker') {
      return [
        `step '${step.name}': batch_config.worker_template '${target}' must be a step of type batch_worker, it is ${worker.kind ?? 'standard'}`,
      ];
    }
    return [];
  });
}

function readChoice<T extends string>(
  value: unknown,
  choices: readonly T[],
  fallback: T,
  what: string,
  problems: string[],
): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value))
    return value as T;
  problems.push(`${what} must be one of ${choices.join(', ')}, got ${show(value)}`);
  return fallback;
}

/** An optional list read entry by entry; entries that fail to read are left out. */
function readList<T>(
  raw: unknown,
  what: string,
  problems: string[],
  readOne: (entry: unknown, what: string) => T | null,
): T[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${what} must be a list, got ${show(raw)}`);
    return [];
  }
  return raw.flatMap((entry: unknown, index: number) => readOne(entry, `${what}[${index}]`) ?? []);
}
