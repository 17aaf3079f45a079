import { ValidationError } from '../errors/tasker.error.js';
import {
  CONCURRENCY_STRATEGIES,
  type ConcurrencyLimit,
  type ConcurrencyStrategy,
  type RateLimit,
  type TaskTemplate,
} from './task-template.js';
import { isIntegerIn, isMapping, show, unknownKeys } from './template-parse.helpers.js';

/** A task's key in one limit: [limit name, key], and its fairness group when the limit has one. */
export type LimitKey = [name: string, key: string] | [name: string, key: string, group: string];

/** The limits a task is subject to, with its keys (tasks.slots): null for a task with none. */
export interface TaskSlots {
  task?: LimitKey;
  /** By template step name. */
  steps?: Record<string, LimitKey>;
}

export const MAX_CONCURRENCY_KEY_LENGTH = 200;
export const MAX_RATE_PERIOD_SECONDS = 86400;
const LIMIT_NAME_PATTERN = /^[a-z][a-z0-9_.-]*$/;
const LIMIT_NAME_MAX_LENGTH = 200;
const KEY_PATTERN = /^context(\.[A-Za-z_$][\w$-]*)+$/;
const CONCURRENCY_KEYS = [
  'name',
  'key',
  'default',
  'fair_by',
  'max_running',
  'rate',
  'strategy',
] as const;
const RATE_KEYS = ['limit', 'per_seconds'] as const;

/**
 * A `concurrency` mapping (both template formats): undefined when absent; pushes every problem
 * (prefixed by `what`). `defaultName` names the limit when the mapping does not.
 */
export function readConcurrency(
  raw: unknown,
  what: string,
  defaultName: string,
  problems: string[],
): ConcurrencyLimit | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    problems.push(`${what} must be a mapping, got ${show(raw)}`);
    return undefined;
  }
  const before = problems.length;
  problems.push(...unknownKeys(raw, CONCURRENCY_KEYS, `${what}: `));
  let name = defaultName;
  if (raw.name !== undefined && raw.name !== null) {
    if (
      typeof raw.name === 'string' &&
      LIMIT_NAME_PATTERN.test(raw.name) &&
      raw.name.length <= LIMIT_NAME_MAX_LENGTH
    )
      name = raw.name;
    else
      problems.push(
        `${what}.name must be lower case letters, digits, '_', '.' or '-' (starting with a letter, at most ${LIMIT_NAME_MAX_LENGTH}), got ${show(raw.name)}`,
      );
  }
  const keyPath = readContextPath(raw.key, `${what}.key`, 'context.customer_id', problems);
  const fairPath = readContextPath(raw.fair_by, `${what}.fair_by`, 'context.tenant', problems);
  let defaultKey = 'default';
  if (raw.default !== undefined && raw.default !== null) {
    if (
      typeof raw.default === 'string' &&
      raw.default.length > 0 &&
      raw.default.length <= MAX_CONCURRENCY_KEY_LENGTH
    )
      defaultKey = raw.default;
    else
      problems.push(
        `${what}.default must be a string of 1 to ${MAX_CONCURRENCY_KEY_LENGTH} characters, got ${show(raw.default)}`,
      );
    if (keyPath === undefined && fairPath === undefined)
      problems.push(`${what}.default needs a key or fair_by`);
  }
  let maxRunning: number | undefined;
  if (raw.max_running !== undefined && raw.max_running !== null) {
    if (isIntegerIn(raw.max_running, 1, 100000)) maxRunning = raw.max_running;
    else
      problems.push(
        `${what}.max_running must be an integer from 1 to 100000, got ${show(raw.max_running)}`,
      );
  }
  const rate = readRate(raw.rate, `${what}.rate`, problems);
  let strategy: ConcurrencyStrategy = 'queue';
  if (raw.strategy !== undefined && raw.strategy !== null) {
    if (
      typeof raw.strategy === 'string' &&
      (CONCURRENCY_STRATEGIES as readonly string[]).includes(raw.strategy)
    )
      strategy = raw.strategy as ConcurrencyStrategy;
    else
      problems.push(
        `${what}.strategy must be one of ${CONCURRENCY_STRATEGIES.join(', ')}, got ${show(raw.strategy)}`,
      );
  }
  if (raw.max_running == null && raw.rate == null)
    problems.push(`${what} needs max_running, rate or both`);
  if (strategy !== 'queue' && raw.max_running == null)
    problems.push(`${what}.strategy ${strategy} needs max_running`);
  if (problems.length > before) return undefined;
  return {
    name,
    ...(keyPath ? { keyPath } : {}),
    defaultKey,
    ...(fairPath ? { fairPath } : {}),
    ...(maxRunning !== undefined ? { maxRunning } : {}),
    ...(rate ? { rate } : {}),
    strategy,
  };
}

/** A `context.a.b` path (as ['a', 'b']): undefined when absent; pushes a problem when malformed. */
function readContextPath(
  raw: unknown,
  what: string,
  example: string,
  problems: string[],
): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string' && KEY_PATTERN.test(raw)) return raw.split('.').slice(1);
  problems.push(
    `${what} must be a path into the task's context such as ${example}, got ${show(raw)}`,
  );
  return undefined;
}

function readRate(raw: unknown, what: string, problems: string[]): RateLimit | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    problems.push(`${what} must be a mapping with limit and per_seconds, got ${show(raw)}`);
    return undefined;
  }
  problems.push(...unknownKeys(raw, RATE_KEYS, `${what}: `));
  let ok = true;
  if (!isIntegerIn(raw.limit, 1, 1000000)) {
    problems.push(`${what}.limit must be an integer from 1 to 1000000, got ${show(raw.limit)}`);
    ok = false;
  }
  const per = raw.per_seconds;
  if (
    typeof per !== 'number' ||
    !Number.isFinite(per) ||
    per < 0.001 ||
    per > MAX_RATE_PERIOD_SECONDS
  ) {
    problems.push(
      `${what}.per_seconds must be a number of seconds from 0.001 to ${MAX_RATE_PERIOD_SECONDS}, got ${show(per)}`,
    );
    ok = false;
  }
  return ok
    ? { limit: raw.limit as number, periodMs: Math.round((per as number) * 1000) }
    : undefined;
}

/**
 * Whether two declarations of one limit name agree on what the limit is. Whether its waiting
 * steps take turns is the pool's, so both are `fair_by` or neither; each names its group by a
 * path of its own context, as each names its key.
 */
export function sameLimit(a: ConcurrencyLimit, b: ConcurrencyLimit): boolean {
  return (
    a.maxRunning === b.maxRunning &&
    a.rate?.limit === b.rate?.limit &&
    a.rate?.periodMs === b.rate?.periodMs &&
    a.strategy === b.strategy &&
    (a.fairPath === undefined) === (b.fairPath === undefined)
  );
}

/** A task's key in a limit: the value at the limit's path (a string as is, else its JSON). */
export function concurrencyKeyOf(
  limit: ConcurrencyLimit,
  context: Record<string, unknown>,
): string {
  return valueAt(limit.keyPath, context, limit.defaultKey);
}

function valueAt(
  path: readonly string[] | undefined,
  context: Record<string, unknown>,
  fallback: string,
): string {
  if (!path) return fallback;
  let value: unknown = context;
  for (const part of path) {
    value = isMapping(value) ? value[part] : undefined;
  }
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The limits a task of `template` is subject to, with its keys, or null when the template
 * declares none. Throws a ValidationError when a key is longer than MAX_CONCURRENCY_KEY_LENGTH.
 */
export function taskSlotsOf(
  template: Pick<TaskTemplate, 'concurrency' | 'steps'>,
  context: Record<string, unknown>,
): TaskSlots | null {
  const read = (limit: ConcurrencyLimit, path: string[] | undefined, role: string): string => {
    const value = valueAt(path, context, limit.defaultKey);
    if (value.length > MAX_CONCURRENCY_KEY_LENGTH) {
      throw new ValidationError(
        `the context's ${['context', ...(path ?? [])].join('.')} is the ${role} of concurrency limit ${limit.name} and must be at most ${MAX_CONCURRENCY_KEY_LENGTH} characters, got ${value.length}`,
      );
    }
    return value;
  };
  const keyOf = (limit: ConcurrencyLimit): LimitKey => {
    const key = read(limit, limit.keyPath, 'key');
    return limit.fairPath
      ? [limit.name, key, read(limit, limit.fairPath, 'fairness group')]
      : [limit.name, key];
  };
  const slots: TaskSlots = {};
  if (template.concurrency) slots.task = keyOf(template.concurrency);
  for (const step of template.steps) {
    if (step.concurrency) (slots.steps ??= {})[step.name] = keyOf(step.concurrency);
  }
  return slots.task || slots.steps ? slots : null;
}

/**
 * What is wrong with a template's limits as a whole: a cancel strategy on a step limit, a name
 * declared twice with different settings, or a step limit named like the task-level one (a
 * slot is held by a task or by a step run, not both). A step may have a limit of its own under
 * a task-level one: it waits for its task's slot first, then for its own.
 */
export function concurrencyProblems(
  task: ConcurrencyLimit | undefined,
  steps: readonly { name: string; concurrency?: ConcurrencyLimit | undefined }[],
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, ConcurrencyLimit>();
  for (const step of steps) {
    const limit = step.concurrency;
    if (!limit) continue;
    // The cancel strategies cancel tasks by their age, and a step wait says neither which task
    // is older nor whether two runs are of one task: run by run, a task would cancel itself,
    // and an old task's retry, the newest waiter, would cancel a newer task.
    if (limit.strategy !== 'queue') {
      problems.push(
        `step '${step.name}': concurrency.strategy ${limit.strategy} applies to task-level limits only (a step limit queues)`,
      );
    }
    if (task && limit.name === task.name) {
      problems.push(
        `step '${step.name}': concurrency limit ${limit.name} is the task's; a step limit under a task-level one needs a name of its own`,
      );
    }
    const other = seen.get(limit.name);
    if (other && !sameLimit(other, limit)) {
      problems.push(
        `step '${step.name}': concurrency limit ${limit.name} is declared twice with different max_running, rate, strategy or fair_by`,
      );
    }
    seen.set(limit.name, limit);
  }
  return problems;
}

/**
 * Aging: a step waiting for a slot is ordered by when it began to wait, made earlier by this
 * many milliseconds per point of its task's priority (-100..100). A priority only moves a step
 * ahead of those that waited less than the difference, so a low priority delays work by at most
 * 200 s against the highest and never starves it.
 */
export const PRIORITY_POINT_MS = 1000;
export const MIN_PRIORITY = -100;
export const MAX_PRIORITY = 100;
