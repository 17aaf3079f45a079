import type { StepTemplate } from '../templates/task-template.js';
import {
  type BatchWorkers,
  decisionBranches,
  decisionDepth,
  kindOf,
  type PlannedSteps,
  planNewSteps,
  type TaskStepState,
} from '../templates/workflow-graph.js';
import type { TaskUnitOfWork } from './task-store.port.js';

/** Bounds on what decisions and batches may add to a task. */
export interface DynamicStepLimits {
  /** Most steps one decision's outcome may add (its branches and what follows them). */
  maxStepsPerDecision: number;
  /** Most decisions nested in one another on a path through the template. */
  maxDecisionDepth: number;
  /** Most batch workers one batchable step's outcome may ask for. */
  maxBatchWorkers: number;
}

const OUTCOME_SHAPE =
  '{"decision_point_outcome": {"type": "create_steps", "step_names": [...]}} or {"decision_point_outcome": {"type": "no_branches"}}';

/**
 * The branches a decision step's result names (Tasker Core's `decision_point_outcome`; empty
 * for `no_branches`), or why the result cannot be applied: not that shape, a name that is not
 * one of the decision's declared branches, or a decision nested deeper than allowed.
 */
export function readDecisionOutcome(
  template: { readonly steps: readonly StepTemplate[] },
  decision: string,
  result: unknown,
  limits: DynamicStepLimits,
): { branches: string[] } | { problem: string } {
  const depth = decisionDepth(template, decision);
  if (depth > limits.maxDecisionDepth) {
    return {
      problem: `decision '${decision}' is nested ${depth} decisions deep; at most ${limits.maxDecisionDepth} are allowed`,
    };
  }
  const outcome = isObject(result) ? result.decision_point_outcome : undefined;
  if (!isObject(outcome)) {
    return {
      problem: `decision '${decision}' returned no decision_point_outcome; return ${OUTCOME_SHAPE}`,
    };
  }
  if (outcome.type === 'no_branches') return { branches: [] };
  if (outcome.type !== 'create_steps') {
    return {
      problem: `decision '${decision}' returned decision_point_outcome.type ${JSON.stringify(outcome.type)}; use create_steps or no_branches`,
    };
  }
  const names = outcome.step_names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    return {
      problem: `decision '${decision}' returned create_steps without a non-empty step_names list of step names (use no_branches to create none)`,
    };
  }
  const declared = decisionBranches(template, decision);
  const unknown = names.filter((n) => !declared.includes(n));
  if (unknown.length > 0) {
    return {
      problem: `decision '${decision}' may create only its declared branches (${declared.join(', ') || 'none'}); ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among them`,
    };
  }
  return { branches: [...new Set(names)] };
}

const BATCH_SHAPE =
  '{"batch_processing_outcome": {"type": "create_batches", "worker_template_name": ..., "cursor_configs": [...]}} or {"batch_processing_outcome": {"type": "no_batches"}}';

/** A batch id becomes part of a step name: `<worker template>_<batch id>`. */
const BATCH_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The batch workers a batchable step's result asks for (Tasker Core's
 * `batch_processing_outcome`), or why the result cannot be applied. Each worker is named
 * `<template>_<batch id>` (the cursor's `batch_id`, else its 1-based position as 001, 002, …)
 * and gets as inputs its `cursor`, the template's `batch_metadata` (`cursor_field`,
 * `failure_strategy`) and `is_no_op`. `no_batches` makes one no-op worker (`_000`), so the
 * convergence step after the workers runs the same way whatever the data.
 */
export function readBatchOutcome(
  template: { readonly steps: readonly StepTemplate[] },
  batchable: string,
  result: unknown,
  limits: DynamicStepLimits,
): BatchWorkers | { problem: string } {
  const outcome = isObject(result) ? result.batch_processing_outcome : undefined;
  if (!isObject(outcome)) {
    return {
      problem: `batchable step '${batchable}' returned no batch_processing_outcome; return ${BATCH_SHAPE}`,
    };
  }
  const workers = template.steps.filter(
    (s) => kindOf(s) === 'batch_worker' && s.dependsOn.includes(batchable),
  );
  const listed = workers.map((w) => w.name).join(', ') || 'none';
  if (outcome.type === 'no_batches') {
    const step = template.steps.find((s) => s.name === batchable);
    const named = step?.config?.worker_template_name;
    const worker =
      typeof named === 'string'
        ? workers.find((w) => w.name === named)
        : workers.length === 1
          ? workers[0]
          : undefined;
    if (!worker) {
      return {
        problem: `batchable step '${batchable}' returned no_batches, but which of its batch_worker steps (${listed}) makes the no-op worker is unclear: set handler.initialization.worker_template_name`,
      };
    }
    const cursor = { batch_id: '000', start_cursor: 0, end_cursor: 0, batch_size: 0 };
    return { template: worker.name, workers: [workerOf(worker, cursor, true)] };
  }
  if (outcome.type !== 'create_batches') {
    return {
      problem: `batchable step '${batchable}' returned batch_processing_outcome.type ${JSON.stringify(outcome.type)}; use create_batches or no_batches`,
    };
  }
  const worker = workers.find((w) => w.name === outcome.worker_template_name);
  if (!worker) {
    return {
      problem: `batchable step '${batchable}' asked for workers of ${JSON.stringify(outcome.worker_template_name)}; its batch_worker steps are: ${listed}`,
    };
  }
  const cursors = outcome.cursor_configs;
  if (!Array.isArray(cursors) || cursors.length === 0 || !cursors.every(isObject)) {
    return {
      problem: `batchable step '${batchable}' returned create_batches without a non-empty cursor_configs list of objects (use no_batches when there is nothing to do)`,
    };
  }
  if (outcome.worker_count !== undefined && outcome.worker_count !== cursors.length) {
    return {
      problem: `batchable step '${batchable}' returned worker_count ${JSON.stringify(outcome.worker_count)} with ${cursors.length} cursor_configs; they must agree`,
    };
  }
  if (cursors.length > limits.maxBatchWorkers) {
    return {
      problem: `batchable step '${batchable}' asked for ${cursors.length} batch workers; at most ${limits.maxBatchWorkers} are allowed`,
    };
  }
  const width = Math.max(3, String(cursors.length).length);
  const ids = cursors.map((c, i) => c.batch_id ?? String(i + 1).padStart(width, '0'));
  const bad = ids.find((id) => typeof id !== 'string' || !BATCH_ID.test(id));
  if (bad !== undefined) {
    return {
      problem: `batchable step '${batchable}' returned batch_id ${JSON.stringify(bad)}; a batch id is 1 to 64 letters, digits, _ or -`,
    };
  }
  if (new Set(ids).size !== ids.length) {
    return { problem: `batchable step '${batchable}' returned the same batch_id twice` };
  }
  return {
    template: worker.name,
    workers: cursors.map((c, i) => workerOf(worker, { ...c, batch_id: ids[i] }, false)),
  };
}

function workerOf(
  worker: StepTemplate,
  cursor: Record<string, unknown>,
  noOp: boolean,
): BatchWorkers['workers'][number] {
  return {
    name: `${worker.name}_${String(cursor.batch_id)}`,
    inputs: {
      cursor,
      batch_metadata: {
        cursor_field: worker.batch?.cursorField ?? 'id',
        failure_strategy: worker.batch?.failureStrategy ?? 'fail_fast',
      },
      is_no_op: noOp,
    },
  };
}

/** A decision or batchable step whose run completed, with the result its handler returned. */
export interface MadeOutcome {
  stepUuid: string;
  stepName: string;
  kind: 'decision' | 'batchable';
  result: unknown;
}

/** What applying a task's outcomes will do: the steps to add, and the outcomes that failed. */
export interface OutcomePlan {
  plan: PlannedSteps;
  /** By step uuid: why the step's outcome cannot be applied (the step fails). */
  failed: Map<string, string>;
}

/**
 * Plans `outcomes`, all of one locked task, one after another (each sees the steps the ones
 * before it add); nothing is written. An outcome that cannot be applied (readDecisionOutcome,
 * readBatchOutcome, a branch that could not be created, more steps than allowed) adds nothing
 * and is reported in `failed`.
 */
export async function planOutcomes(
  uow: TaskUnitOfWork,
  taskUuid: string,
  outcomes: readonly MadeOutcome[],
  limits: DynamicStepLimits,
): Promise<OutcomePlan> {
  const template = await uow.taskTemplate(taskUuid);
  const existing = new Map<string, TaskStepState>(await uow.taskSteps(taskUuid));
  const failed = new Map<string, string>();
  const plan: PlannedSteps = { steps: [], edges: [] };
  for (const made of outcomes) {
    let next: PlannedSteps;
    let problem: string | null;
    if (made.kind === 'decision') {
      const outcome = readDecisionOutcome(template, made.stepName, made.result, limits);
      if ('problem' in outcome) {
        failed.set(made.stepUuid, outcome.problem);
        continue;
      }
      next = planNewSteps(template, existing, {
        decisions: new Map([[made.stepName, new Set(outcome.branches)]]),
      });
      problem = decisionProblem(made.stepName, outcome.branches, next, limits);
    } else {
      const batch = readBatchOutcome(template, made.stepName, made.result, limits);
      if ('problem' in batch) {
        failed.set(made.stepUuid, batch.problem);
        continue;
      }
      next = planNewSteps(template, existing, { batches: new Map([[made.stepName, batch]]) });
      const missing = batch.workers.filter((w) => !next.steps.some((s) => s.name === w.name));
      problem =
        missing.length === 0
          ? null
          : `batchable step '${made.stepName}' cannot make its workers: ${missing.length === batch.workers.length ? `batch_worker '${batch.template}' depends on steps this task does not have` : `${missing.map((w) => `'${w.name}'`).join(', ')} already exist`}`;
    }
    if (problem) {
      failed.set(made.stepUuid, problem);
      continue;
    }
    existing.set(made.stepName, { state: 'complete', template: made.stepName });
    for (const step of next.steps)
      existing.set(step.name, { state: 'pending', template: step.template });
    plan.steps.push(...next.steps);
    plan.edges.push(...next.edges);
  }
  return { plan, failed };
}

/** The result an operator's resolution stands for: no branch, no batch. */
export function noOutcome(kind: MadeOutcome['kind']): Record<string, unknown> {
  return kind === 'decision'
    ? { decision_point_outcome: { type: 'no_branches' } }
    : { batch_processing_outcome: { type: 'no_batches' } };
}

function decisionProblem(
  decision: string,
  branches: readonly string[],
  next: PlannedSteps,
  limits: DynamicStepLimits,
): string | null {
  const created = new Set(next.steps.map((s) => s.name));
  const missing = branches.filter((b) => !created.has(b));
  if (missing.length > 0) {
    return `decision '${decision}' named ${missing.map((n) => `'${n}'`).join(', ')}, which cannot be created: ${missing.length === 1 ? 'it depends' : 'they depend'} on steps this task does not have`;
  }
  if (next.steps.length > limits.maxStepsPerDecision) {
    return `decision '${decision}' would add ${next.steps.length} steps; at most ${limits.maxStepsPerDecision} are allowed per decision`;
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
