import type { StepTemplate } from '../templates/task-template.js';
import {
  decisionBranches,
  decisionDepth,
  type PlannedSteps,
  planNewSteps,
} from '../templates/workflow-graph.js';
import type { TaskUnitOfWork } from './task-store.port.js';

/** Bounds on what decisions may do (Tasker Core's `decision_points` settings). */
export interface DynamicStepLimits {
  /** Most steps one decision's outcome may add (its branches and what follows them). */
  maxStepsPerDecision: number;
  /** Most decisions nested in one another on a path through the template. */
  maxDecisionDepth: number;
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

/** A decision step whose run completed, with the result its handler returned. */
export interface MadeDecision {
  stepUuid: string;
  stepName: string;
  result: unknown;
}

/** What applying a task's decisions will do: the steps to add, and the decisions that failed. */
export interface DecisionPlan {
  plan: PlannedSteps;
  /** By step uuid: why the decision's outcome cannot be applied (the step fails). */
  failed: Map<string, string>;
}

/**
 * Plans the outcomes of `decisions`, all of one locked task, one after another (each sees the
 * steps the ones before it add); nothing is written. A decision whose outcome cannot be
 * applied (readDecisionOutcome, a branch that could not be created, more steps than allowed)
 * adds nothing and is reported in `failed`.
 */
export async function planDecisions(
  uow: TaskUnitOfWork,
  taskUuid: string,
  decisions: readonly MadeDecision[],
  limits: DynamicStepLimits,
): Promise<DecisionPlan> {
  const template = await uow.taskTemplate(taskUuid);
  const existing = new Map(
    [...(await uow.taskSteps(taskUuid))].map(([name, step]) => [name, step.state]),
  );
  const failed = new Map<string, string>();
  const plan: PlannedSteps = { steps: [], edges: [] };
  for (const decision of decisions) {
    const outcome = readDecisionOutcome(template, decision.stepName, decision.result, limits);
    if ('problem' in outcome) {
      failed.set(decision.stepUuid, outcome.problem);
      continue;
    }
    const next = planNewSteps(
      template,
      existing,
      new Map([[decision.stepName, new Set(outcome.branches)]]),
    );
    const problem = outcomeProblem(decision.stepName, outcome.branches, next, limits);
    if (problem) {
      failed.set(decision.stepUuid, problem);
      continue;
    }
    existing.set(decision.stepName, 'complete');
    for (const step of next.steps) existing.set(step.name, 'pending');
    plan.steps.push(...next.steps);
    plan.edges.push(...next.edges);
  }
  return { plan, failed };
}

function outcomeProblem(
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
