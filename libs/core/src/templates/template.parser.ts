import { namespaceNameProblem } from '#contracts';
import { TemplateValidationError } from '../errors/tasker.error.js';
import { compileSchemaProblem } from './context-validator.js';
import { findDagProblems, topologicalOrder } from './dag.js';
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

/** namespace, template name and step name: lower snake case, starting with a letter. */
export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const TEMPLATE_NAME_MAX_LENGTH = 64;
export const HANDLER_NAME_PATTERN = /^[a-zA-Z][\w.-]*$/;
export const TEMPLATE_VERSION_PATTERN = /^\d+\.\d+\.\d+$/;
export const MAX_STEP_TIMEOUT_SECONDS = 86400;

const TOP_LEVEL_KEYS = [
  'namespace',
  'name',
  'version',
  'description',
  'identity_strategy',
  'input_schema',
  'staleness',
  'steps',
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
] as const;
const RETRY_KEYS = [
  'max_attempts',
  'backoff',
  'backoff_base_ms',
  'max_backoff_ms',
  'jitter',
] as const;

type Mapping = Record<string, unknown>;

/**
 * Turns the snake_case shape read from a template file into a {@link TaskTemplate}, applying
 * defaults and ordering steps topologically. Every problem is collected first; if there are any,
 * throws one {@link TemplateValidationError} whose message names `source` and each problem (each
 * problem about a step names the step).
 */
export function parseTemplate(raw: unknown, source: string): TaskTemplate {
  const problems: string[] = [];

  if (!isMapping(raw)) {
    throw new TemplateValidationError(source, [
      `a template must be a mapping with namespace, name, version and steps, got ${show(raw)}`,
    ]);
  }

  problems.push(...unknownKeys(raw, TOP_LEVEL_KEYS, ''));

  const namespace = readName(raw, 'namespace', '', problems);
  // Its queue, dead-letter queue and notify channel are named after it: all must fit.
  const namespaceProblem = namespace === '' ? null : namespaceNameProblem(namespace);
  if (namespaceProblem !== null) problems.push(namespaceProblem);
  const name = readName(raw, 'name', '', problems);

  let version = '';
  if (raw.version === undefined || raw.version === null) {
    problems.push('version is required (like 1.0.0)');
  } else if (typeof raw.version !== 'string' || !TEMPLATE_VERSION_PATTERN.test(raw.version)) {
    const hint = typeof raw.version === 'number' ? ' (quote it, or write all three parts)' : '';
    problems.push(
      `version must look like 1.0.0 (major.minor.patch), got ${show(raw.version)}${hint}`,
    );
  } else {
    version = raw.version;
  }

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

  let inputSchema: Mapping = {};
  if (raw.input_schema !== undefined) {
    if (!isMapping(raw.input_schema)) {
      problems.push(`input_schema must be a JSON Schema mapping, got ${show(raw.input_schema)}`);
    } else {
      const compileProblem = compileSchemaProblem(raw.input_schema);
      if (compileProblem !== null) {
        problems.push(`input_schema is not a valid JSON Schema: ${compileProblem}`);
      } else {
        inputSchema = structuredClone(raw.input_schema);
      }
    }
  }

  const staleness = parseStaleness(raw.staleness, problems);

  const steps: StepTemplate[] = [];
  if (raw.steps === undefined || raw.steps === null) {
    problems.push('steps is required (a non-empty list)');
  } else if (!Array.isArray(raw.steps)) {
    problems.push(`steps must be a list, got ${show(raw.steps)}`);
  } else if (raw.steps.length === 0) {
    problems.push('steps must not be empty');
  } else {
    raw.steps.forEach((rawStep: unknown, index: number) => {
      const step = parseStep(rawStep, index, problems);
      if (step !== null) steps.push(step);
    });
    problems.push(...findDagProblems(steps));
  }

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
    steps: topologicalOrder(steps),
    ...(staleness !== undefined ? { staleness } : {}),
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
  const thresholds: StalenessThresholds = {};
  for (const [key, field] of Object.entries(STALENESS_KEYS)) {
    const value = raw[key];
    if (value === undefined) continue;
    if (isIntegerIn(value, 1, 525600)) thresholds[field] = value;
    else
      problems.push(
        `staleness.${key} must be a whole number of minutes from 1 to 525600, got ${show(value)}`,
      );
  }
  return thresholds;
}

/**
 * One step; pushes its problems (each prefixed with the step's label) and returns the step when
 * it has a usable name, so that DAG checks still run over the steps that have one.
 */
function parseStep(raw: unknown, index: number, problems: string[]): StepTemplate | null {
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

  let handler = '';
  if (raw.handler === undefined || raw.handler === null || raw.handler === '') {
    problems.push(`${label}: handler is required`);
  } else if (typeof raw.handler !== 'string' || !HANDLER_NAME_PATTERN.test(raw.handler)) {
    problems.push(
      `${label}: handler must be a name like examples.square (letters, digits, _ . -), got ${show(raw.handler)}`,
    );
  } else {
    handler = raw.handler;
  }

  const dependsOn: string[] = [];
  if (raw.depends_on !== undefined && raw.depends_on !== null) {
    if (!Array.isArray(raw.depends_on)) {
      const hint = typeof raw.depends_on === 'string' ? ` (write [${raw.depends_on}])` : '';
      problems.push(
        `${label}: depends_on must be a list of step names, got ${show(raw.depends_on)}${hint}`,
      );
    } else {
      for (const dep of raw.depends_on as unknown[]) {
        if (typeof dep !== 'string' || dep.length === 0) {
          problems.push(`${label}: depends_on entries must be step names, got ${show(dep)}`);
        } else if (dependsOn.includes(dep)) {
          problems.push(`${label}: depends_on lists '${dep}' more than once`);
        } else {
          dependsOn.push(dep);
        }
      }
    }
  }

  let retryable = true;
  if (raw.retryable !== undefined) {
    if (typeof raw.retryable === 'boolean') retryable = raw.retryable;
    else problems.push(`${label}: retryable must be true or false, got ${show(raw.retryable)}`);
  }

  const retry = parseRetry(raw.retry, label, problems);

  let timeoutSeconds = DEFAULT_STEP_TIMEOUT_SECONDS;
  if (raw.timeout_seconds !== undefined) {
    const value = raw.timeout_seconds;
    if (isIntegerIn(value, 1, MAX_STEP_TIMEOUT_SECONDS)) timeoutSeconds = value;
    else
      problems.push(
        `${label}: timeout_seconds must be an integer from 1 to ${MAX_STEP_TIMEOUT_SECONDS}, got ${show(value)}`,
      );
  }

  let inputs: Mapping = {};
  if (raw.inputs !== undefined) {
    if (isMapping(raw.inputs)) inputs = structuredClone(raw.inputs);
    else problems.push(`${label}: inputs must be a mapping, got ${show(raw.inputs)}`);
  }

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

  let baseOk = true;
  let maxOk = true;
  if (raw.max_attempts !== undefined) {
    if (isIntegerIn(raw.max_attempts, 1, Number.MAX_SAFE_INTEGER))
      policy.maxAttempts = raw.max_attempts;
    else
      problems.push(
        `${prefix}.max_attempts must be an integer >= 1, got ${show(raw.max_attempts)}`,
      );
  }
  if (raw.backoff !== undefined) {
    if (raw.backoff === 'exponential' || raw.backoff === 'fixed') policy.backoff = raw.backoff;
    else problems.push(`${prefix}.backoff must be exponential or fixed, got ${show(raw.backoff)}`);
  }
  if (raw.backoff_base_ms !== undefined) {
    if (isIntegerIn(raw.backoff_base_ms, 0, Number.MAX_SAFE_INTEGER))
      policy.backoffBaseMs = raw.backoff_base_ms;
    else {
      baseOk = false;
      problems.push(
        `${prefix}.backoff_base_ms must be an integer >= 0, got ${show(raw.backoff_base_ms)}`,
      );
    }
  }
  if (raw.max_backoff_ms !== undefined) {
    if (isIntegerIn(raw.max_backoff_ms, 0, Number.MAX_SAFE_INTEGER))
      policy.maxBackoffMs = raw.max_backoff_ms;
    else {
      maxOk = false;
      problems.push(
        `${prefix}.max_backoff_ms must be an integer >= 0, got ${show(raw.max_backoff_ms)}`,
      );
    }
  }
  if (baseOk && maxOk && policy.maxBackoffMs < policy.backoffBaseMs) {
    problems.push(
      `${prefix}.max_backoff_ms (${policy.maxBackoffMs}) must be >= backoff_base_ms (${policy.backoffBaseMs})`,
    );
  }
  if (raw.jitter !== undefined) {
    const j = raw.jitter;
    if (typeof j === 'number' && Number.isFinite(j) && j >= 0 && j <= 1) policy.jitter = j;
    else problems.push(`${prefix}.jitter must be a number from 0 to 1, got ${show(j)}`);
  }
  return policy;
}

/** Reads a required lower-snake-case name (namespace, name, step name); '' when invalid. */
function readName(raw: Mapping, key: string, prefix: string, problems: string[]): string {
  const value = raw[key];
  if (value === undefined || value === null || value === '') {
    problems.push(`${prefix}${key} is required`);
    return '';
  }
  if (
    typeof value !== 'string' ||
    !TEMPLATE_NAME_PATTERN.test(value) ||
    value.length > TEMPLATE_NAME_MAX_LENGTH
  ) {
    problems.push(
      `${prefix}${key} must be lower snake case (${TEMPLATE_NAME_PATTERN.source}, at most ${TEMPLATE_NAME_MAX_LENGTH} characters), got ${show(value)}`,
    );
    return '';
  }
  return value;
}

function unknownKeys(raw: Mapping, known: readonly string[], prefix: string): string[] {
  const normalize = (k: string) => k.toLowerCase().replace(/[^a-z0-9]/g, '');
  return Object.keys(raw)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const suggestion = known.find((k) => normalize(k) === normalize(key));
      const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : '';
      return `${prefix}unknown key '${key}'${hint}`;
    });
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** A short rendering of a value for problem messages. */
function show(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
