import { TemplateValidationError } from '../errors/tasker.error.js';
import {
  DEFAULT_RETRY_POLICY,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  IDENTITY_STRATEGIES,
  type IdentityStrategy,
  type RetryPolicy,
  type StalenessThresholds,
  type StepTemplate,
  type TaskTemplate,
} from './task-template.js';
import { isTaskerCoreTemplate, parseTaskerCoreTemplate } from './tasker-core-template.parser.js';
import {
  isIntegerIn,
  isMapping,
  type Mapping,
  readBackoffDelays,
  readBackoffKind,
  readHandlerName,
  readName,
  readNamespace,
  readSchema,
  readStalenessMinutes,
  readStepNames,
  readTriggers,
  readSteps,
  readTimeout,
  readVersion,
  show,
  unknownKeys,
} from './template-parse.helpers.js';
import { concurrencyProblems, readConcurrency } from './concurrency.js';

export {
  EVENT_NAME_PATTERN,
  HANDLER_NAME_PATTERN,
  isEventName,
  MAX_STEP_TIMEOUT_SECONDS,
  TEMPLATE_NAME_MAX_LENGTH,
  TEMPLATE_NAME_PATTERN,
  TEMPLATE_VERSION_PATTERN,
} from './template-parse.helpers.js';

const TOP_LEVEL_KEYS = [
  'namespace',
  'name',
  'version',
  'description',
  'identity_strategy',
  'input_schema',
  'staleness',
  'steps',
  'triggers',
  'concurrency',
] as const;
const STALENESS_KEYS = {
  waiting_for_dependencies_minutes: 'waitingForDependenciesMinutes',
  waiting_for_retry_minutes: 'waitingForRetryMinutes',
  steps_in_process_minutes: 'stepsInProcessMinutes',
  max_lifetime_minutes: 'maxLifetimeMinutes',
} as const satisfies Record<string, keyof StalenessThresholds>;
const STEP_KEYS = [
  'name',
  'handler',
  'depends_on',
  'retryable',
  'retry',
  'timeout_seconds',
  'inputs',
  'concurrency',
] as const;
const RETRY_KEYS = [
  'max_attempts',
  'backoff',
  'backoff_base_ms',
  'max_backoff_ms',
  'jitter',
] as const;

export interface TemplateParseOptions {
  /**
   * The TASKER_ENV whose `environments` overrides apply (Tasker Core's format); without it, none
   * do. Every environment's overrides are checked either way.
   */
  environment?: string;
  /** Receives what is accepted but ignored (keys Tasker Core ignores too). */
  warnings?: string[];
}

/**
 * Turns the snake_case shape read from a template file into a {@link TaskTemplate}, applying
 * defaults and ordering steps topologically. Reads our format and Tasker Core's (told apart by
 * its `namespace_name`). Every problem is collected first; if there are any, throws one
 * {@link TemplateValidationError} whose message names `source` and each problem (each problem
 * about a step names the step).
 */
export function parseTemplate(
  raw: unknown,
  source: string,
  options: TemplateParseOptions = {},
): TaskTemplate {
  if (!isMapping(raw)) {
    throw new TemplateValidationError(source, [
      `a template must be a mapping with namespace, name, version and steps, got ${show(raw)}`,
    ]);
  }
  if (isTaskerCoreTemplate(raw)) return parseTaskerCoreTemplate(raw, source, options);
  const problems: string[] = [];

  problems.push(...unknownKeys(raw, TOP_LEVEL_KEYS, ''));

  const namespace = readNamespace(raw, 'namespace', problems);
  const name = readName(raw, 'name', '', problems);

  const version = readVersion(raw, problems);

  let description: string | undefined;
  if (raw.description !== undefined && raw.description !== null) {
    if (typeof raw.description === 'string') description = raw.description;
    else problems.push(`description must be a string, got ${show(raw.description)}`);
  }

  let identityStrategy: IdentityStrategy = 'strict';
  if (raw.identity_strategy !== undefined) {
    const value = raw.identity_strategy;
    if (typeof value === 'string' && (IDENTITY_STRATEGIES as readonly string[]).includes(value)) {
      identityStrategy = value as IdentityStrategy;
    } else {
      problems.push(
        `identity_strategy must be one of ${IDENTITY_STRATEGIES.join(', ')}, got ${show(value)}`,
      );
    }
  }

  const inputSchema = readSchema(raw.input_schema, 'input_schema', problems);

  const staleness = parseStaleness(raw.staleness, problems);
  const triggers = readTriggers(raw.triggers, problems);
  const limitPrefix = `${String(raw.namespace)}.${String(raw.name)}`;
  const concurrency = readConcurrency(raw.concurrency, 'concurrency', limitPrefix, problems);

  const steps = readSteps(raw.steps, problems, (rawStep, index) =>
    parseStep(rawStep, index, limitPrefix, problems),
  );
  problems.push(...concurrencyProblems(concurrency, steps));

  if (problems.length > 0) {
    throw new TemplateValidationError(source, problems);
  }

  return {
    namespace,
    name,
    version,
    ...(description !== undefined ? { description } : {}),
    identityStrategy,
    inputSchema,
    steps,
    ...(staleness !== undefined ? { staleness } : {}),
    ...(triggers.length > 0 ? { triggers } : {}),
    ...(concurrency ? { concurrency } : {}),
    source,
  };
}

function parseStaleness(raw: unknown, problems: string[]): StalenessThresholds | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    problems.push(`staleness must be a mapping, got ${show(raw)}`);
    return undefined;
  }
  problems.push(...unknownKeys(raw, Object.keys(STALENESS_KEYS), 'staleness: '));
  return readStalenessMinutes(raw, STALENESS_KEYS, 'staleness.', problems);
}

/**
 * One step; pushes its problems (each prefixed with the step's label) and returns the step when
 * it has a usable name, so that DAG checks still run over the steps that have one.
 */
function parseStep(
  raw: unknown,
  index: number,
  limitPrefix: string,
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

  problems.push(...unknownKeys(raw, STEP_KEYS, `${label}: `));
  const name = readName(raw, 'name', `${label}: `, problems);

  const handler = readHandlerName(raw.handler, `${label}: handler`, problems);
  const dependsOn = readStepNames(raw.depends_on, `${label}: depends_on`, problems);

  let retryable = true;
  if (raw.retryable !== undefined) {
    if (typeof raw.retryable === 'boolean') retryable = raw.retryable;
    else problems.push(`${label}: retryable must be true or false, got ${show(raw.retryable)}`);
  }

  const retry = parseRetry(raw.retry, label, problems);

  const timeoutSeconds = readTimeout(
    raw.timeout_seconds,
    `${label}: timeout_seconds`,
    DEFAULT_STEP_TIMEOUT_SECONDS,
    problems,
  );

  let inputs: Mapping = {};
  if (raw.inputs !== undefined) {
    if (isMapping(raw.inputs)) inputs = structuredClone(raw.inputs);
    else problems.push(`${label}: inputs must be a mapping, got ${show(raw.inputs)}`);
  }
  const concurrency = readConcurrency(
    raw.concurrency,
    `${label}: concurrency`,
    `${limitPrefix}.${String(raw.name)}`,
    problems,
  );

  // A step with its own problems still takes part in the DAG checks under its written name.
  if (typeof raw.name !== 'string' || raw.name.length === 0) return null;
  return {
    name: name || raw.name,
    handler,
    dependsOn,
    retryable,
    retry,
    timeoutSeconds,
    inputs,
    ...(concurrency ? { concurrency } : {}),
  };
}

function parseRetry(raw: unknown, label: string, problems: string[]): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  if (raw === undefined) return policy;
  const prefix = `${label}: retry`;
  if (!isMapping(raw)) {
    problems.push(`${prefix} must be a mapping, got ${show(raw)}`);
    return policy;
  }
  problems.push(...unknownKeys(raw, RETRY_KEYS, `${prefix}: `));

  if (raw.max_attempts !== undefined) {
    if (isIntegerIn(raw.max_attempts, 1, Number.MAX_SAFE_INTEGER))
      policy.maxAttempts = raw.max_attempts;
    else
      problems.push(
        `${prefix}.max_attempts must be an integer >= 1, got ${show(raw.max_attempts)}`,
      );
  }
  if (raw.backoff !== undefined) {
    const kind = readBackoffKind(raw.backoff, `${prefix}.backoff`, problems);
    if (kind !== undefined) policy.backoff = kind;
  }
  readBackoffDelays(raw, policy, prefix, problems);
  if (raw.jitter !== undefined) {
    const j = raw.jitter;
    if (typeof j === 'number' && Number.isFinite(j) && j >= 0 && j <= 1) policy.jitter = j;
    else problems.push(`${prefix}.jitter must be a number from 0 to 1, got ${show(j)}`);
  }
  return policy;
}
