import { namespaceNameProblem } from '#contracts';
import { compileSchemaProblem } from './context-validator.js';
import { findDagProblems, topologicalOrder } from './dag.js';
import { findWorkflowShapeProblems } from './workflow-graph.js';
import {
  BACKOFF_KINDS,
  type BackoffKind,
  type RetryPolicy,
  type StalenessThresholds,
  type StepTemplate,
} from './task-template.js';

/** Readers shared by the parsers of both template formats; each pushes what it finds wrong. */

/** namespace, template name and step name: lower snake case, starting with a letter. */
export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const TEMPLATE_NAME_MAX_LENGTH = 64;
/** Handler names: `examples.square`, and Tasker Core's callables (`Payments::RefundHandler`). */
export const HANDLER_NAME_PATTERN = /^[a-zA-Z][\w.:-]*$/;
export const HANDLER_NAME_MAX_LENGTH = 500;
export const TEMPLATE_VERSION_PATTERN = /^\d+\.\d+\.\d+$/;
export const MAX_STEP_TIMEOUT_SECONDS = 86400;
export const MAX_STALENESS_MINUTES = 525600;

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** A short rendering of a value for problem messages. */
export function show(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The known key `key` was probably meant as: same letters, or a typo or two away. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const normalized = normalizeKey(key);
  const same = known.find((k) => normalizeKey(k) === normalized);
  if (same !== undefined) return same;
  if (normalized.length < 5) return undefined;
  return known.find((k) => editDistance(normalizeKey(k), normalized) <= 2);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A problem for each key of `raw` not in `known`, with a suggestion when one is close. */
export function unknownKeys(raw: Mapping, known: readonly string[], prefix: string): string[] {
  return Object.keys(raw)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const suggestion = suggestKey(key, known);
      const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : '';
      return `${prefix}unknown key '${key}'${hint}`;
    });
}

/** Reads a required lower-snake-case name (namespace, name, step name); '' when invalid. */
export function readName(raw: Mapping, key: string, prefix: string, problems: string[]): string {
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

/** The required namespace under `key`: a name that its queues and channel can be named after. */
export function readNamespace(raw: Mapping, key: string, problems: string[]): string {
  const namespace = readName(raw, key, '', problems);
  const problem = namespace === '' ? null : namespaceNameProblem(namespace);
  if (problem !== null) problems.push(problem);
  return namespace;
}

/**
 * The required, non-empty `steps` list, each read by `parseOne` (null for a step without a
 * usable name), checked as a DAG (and as a workflow that can start) and returned in a
 * topological order.
 */
export function readSteps(
  value: unknown,
  problems: string[],
  parseOne: (raw: unknown, index: number) => StepTemplate | null,
): StepTemplate[] {
  if (value === undefined || value === null) {
    problems.push('steps is required (a non-empty list)');
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push(`steps must be a list, got ${show(value)}`);
    return [];
  }
  if (value.length === 0) {
    problems.push('steps must not be empty');
    return [];
  }
  const steps = value.flatMap((raw: unknown, index: number) => parseOne(raw, index) ?? []);
  const dagProblems = findDagProblems(steps);
  problems.push(...dagProblems);
  if (dagProblems.length > 0) return steps;
  const ordered = topologicalOrder(steps);
  problems.push(...findWorkflowShapeProblems(ordered));
  return ordered;
}

/** The required `version`, major.minor.patch; '' when invalid. */
export function readVersion(raw: Mapping, problems: string[]): string {
  const value = raw.version;
  if (value === undefined || value === null) {
    problems.push('version is required (like 1.0.0)');
    return '';
  }
  if (typeof value !== 'string' || !TEMPLATE_VERSION_PATTERN.test(value)) {
    const hint = typeof value === 'number' ? ' (quote it, or write all three parts)' : '';
    problems.push(`version must look like 1.0.0 (major.minor.patch), got ${show(value)}${hint}`);
    return '';
  }
  return value;
}

/** An optional string; a null counts as absent (YAML's empty value). */
export function readOptionalString(
  raw: Mapping,
  key: string,
  prefix: string,
  problems: string[],
): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  problems.push(`${prefix}${key} must be a string, got ${show(value)}`);
  return undefined;
}

/** An optional JSON Schema mapping that must compile; `{}` when absent or invalid. */
export function readSchema(
  value: unknown,
  what: string,
  problems: string[],
): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) {
    problems.push(`${what} must be a JSON Schema mapping, got ${show(value)}`);
    return {};
  }
  const compileProblem = compileSchemaProblem(value);
  if (compileProblem !== null) {
    problems.push(`${what} is not a valid JSON Schema: ${compileProblem}`);
    return {};
  }
  return structuredClone(value);
}

/** The required handler name; '' when invalid. */
export function readHandlerName(value: unknown, what: string, problems: string[]): string {
  if (value === undefined || value === null || value === '') {
    problems.push(`${what} is required`);
    return '';
  }
  if (
    typeof value !== 'string' ||
    !HANDLER_NAME_PATTERN.test(value) ||
    value.length > HANDLER_NAME_MAX_LENGTH
  ) {
    problems.push(
      `${what} must be a name like examples.square or Payments::RefundHandler (letters, digits, _ . : -, at most ${HANDLER_NAME_MAX_LENGTH} characters), got ${show(value)}`,
    );
    return '';
  }
  return value;
}

/** A list of step names (dependencies); duplicates and non-names are problems. */
export function readStepNames(value: unknown, what: string, problems: string[]): string[] {
  const names: string[] = [];
  if (value === undefined || value === null) return names;
  if (!Array.isArray(value)) {
    const hint = typeof value === 'string' ? ` (write [${value}])` : '';
    problems.push(`${what} must be a list of step names, got ${show(value)}${hint}`);
    return names;
  }
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'string' || entry.length === 0) {
      problems.push(`${what} entries must be step names, got ${show(entry)}`);
    } else if (names.includes(entry)) {
      problems.push(`${what} lists '${entry}' more than once`);
    } else {
      names.push(entry);
    }
  }
  return names;
}

/** How event names look (Tasker Core): lower case, digits and `_`, in at least two parts. */
export const EVENT_NAME_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

/** Whether `name` is a valid event name (EVENT_NAME_PATTERN). */
export function isEventName(name: unknown): name is string {
  return typeof name === 'string' && EVENT_NAME_PATTERN.test(name);
}

/**
 * A template's `triggers`: the names of the events that start one of its tasks (POST
 * /v1/events, or a domain event a step publishes), each once.
 */
export function readTriggers(value: unknown, problems: string[]): string[] {
  const names: string[] = [];
  if (value === undefined || value === null) return names;
  if (!Array.isArray(value)) {
    problems.push(`triggers must be a list of event names, got ${show(value)}`);
    return names;
  }
  for (const entry of value as unknown[]) {
    if (!isEventName(entry)) {
      problems.push(
        `triggers: an event name must look like namespace.action (lower case, digits, _ and at least one dot), got ${show(entry)}`,
      );
    } else if (names.includes(entry)) {
      problems.push(`triggers lists '${entry}' more than once`);
    } else {
      names.push(entry);
    }
  }
  return names;
}

/** A step's `timeout_seconds`, or `fallback` when absent or invalid. */
export function readTimeout(
  value: unknown,
  what: string,
  fallback: number,
  problems: string[],
): number {
  if (value === undefined || value === null) return fallback;
  if (isIntegerIn(value, 1, MAX_STEP_TIMEOUT_SECONDS)) return value;
  problems.push(
    `${what} must be an integer from 1 to ${MAX_STEP_TIMEOUT_SECONDS}, got ${show(value)}`,
  );
  return fallback;
}

/** One of {@link BACKOFF_KINDS}; undefined (and a problem) otherwise. */
export function readBackoffKind(
  value: unknown,
  what: string,
  problems: string[],
): BackoffKind | undefined {
  if (typeof value === 'string' && (BACKOFF_KINDS as readonly string[]).includes(value)) {
    return value as BackoffKind;
  }
  problems.push(`${what} must be one of ${BACKOFF_KINDS.join(', ')}, got ${show(value)}`);
  return undefined;
}

/** `backoff_base_ms` and `max_backoff_ms` of a retry mapping, into `policy`. */
export function readBackoffDelays(
  raw: Mapping,
  policy: RetryPolicy,
  prefix: string,
  problems: string[],
): void {
  let baseOk = true;
  let maxOk = true;
  if (raw.backoff_base_ms !== undefined && raw.backoff_base_ms !== null) {
    if (isIntegerIn(raw.backoff_base_ms, 0, Number.MAX_SAFE_INTEGER))
      policy.backoffBaseMs = raw.backoff_base_ms;
    else {
      baseOk = false;
      problems.push(
        `${prefix}.backoff_base_ms must be an integer >= 0, got ${show(raw.backoff_base_ms)}`,
      );
    }
  }
  if (raw.max_backoff_ms !== undefined && raw.max_backoff_ms !== null) {
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
}

/** Staleness thresholds from a mapping whose keys are mapped by `keys` to the model's fields. */
export function readStalenessMinutes(
  raw: Mapping,
  keys: Readonly<Record<string, keyof StalenessThresholds>>,
  prefix: string,
  problems: string[],
): StalenessThresholds {
  const thresholds: StalenessThresholds = {};
  for (const [key, field] of Object.entries(keys)) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (isIntegerIn(value, 1, MAX_STALENESS_MINUTES)) thresholds[field] = value;
    else
      problems.push(
        `${prefix}${key} must be a whole number of minutes from 1 to ${MAX_STALENESS_MINUTES}, got ${show(value)}`,
      );
  }
  return thresholds;
}
