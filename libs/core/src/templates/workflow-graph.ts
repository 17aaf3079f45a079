import { SATISFIED_STEP_STATES, type StepState } from '../states/step-state.js';
import type { StepKind, StepTemplate } from './task-template.js';

/**
 * Which of a template's steps a task has, as its workflow grows at run time (Tasker Core's
 * decision points and deferred convergence). Pure: the unit of work reads the task's steps and
 * writes what this plans.
 *
 * The rules, applied until nothing changes:
 * - a step whose parent is a `decision` step is a branch of that decision: it is created only
 *   when the decision's outcome names it;
 * - any other step (a branch's children, a nested decision, a step after a convergence) is
 *   created as soon as all of its parents exist;
 * - a `deferred_convergence` step lists every parent it could have; it is created once none of
 *   them can still come into existence (each exists, or its decision was made without it),
 *   depending on those that exist. When none exists it depends on nothing and runs at once;
 * - `batch_worker` steps are templates: a batchable step's outcome instantiates them.
 * At submission nothing has been decided, so the task starts with the steps that need no
 * decision.
 */

export function kindOf(step: Pick<StepTemplate, 'kind'>): StepKind {
  return step.kind ?? 'standard';
}

/** The steps a new task starts with, and their edges (parent, child). */
export function initialSteps(template: { readonly steps: readonly StepTemplate[] }): PlannedSteps {
  return planNewSteps(template, new Map(), new Map());
}

export interface PlannedSteps {
  /** In the template's (topological) order. */
  steps: StepTemplate[];
  /** [parent, child] by step name; parents may be steps the task already has. */
  edges: [string, string][];
}

/**
 * The steps to add to a task that has `existing` (by name, with their states) once the
 * decisions of `chosen` have been made (decision name → the branches its outcome names; each
 * such decision counts as made whatever its state in `existing`). Steps the task has are never
 * planned again.
 */
export function planNewSteps(
  template: { readonly steps: readonly StepTemplate[] },
  existing: ReadonlyMap<string, StepState>,
  chosen: ReadonlyMap<string, ReadonlySet<string>>,
): PlannedSteps {
  const byName = new Map(template.steps.map((s) => [s.name, s]));
  const isDecision = (name: string) => kindOf(byName.get(name) ?? {}) === 'decision';
  const decided = (name: string) =>
    chosen.has(name) || SATISFIED_STEP_STATES.includes(existing.get(name) ?? 'pending');
  const present = new Set(existing.keys());
  const planned: StepTemplate[] = [];

  // A step that can never be created: a decision was made without it, or a parent never will
  // be. Facts that do not change while planning, so remembered.
  const never = new Map<string, boolean>();
  const cannotExist = (name: string): boolean => {
    if (present.has(name)) return false;
    const known = never.get(name);
    if (known !== undefined) return known;
    const step = byName.get(name);
    let result = false;
    if (step && kindOf(step) !== 'deferred_convergence' && kindOf(step) !== 'batch_worker') {
      result = step.dependsOn.some(
        (parent) =>
          (isDecision(parent) && decided(parent) && !chosen.get(parent)?.has(name)) ||
          cannotExist(parent),
      );
    }
    never.set(name, result);
    return result;
  };

  for (let changed = true; changed;) {
    changed = false;
    for (const step of template.steps) {
      if (present.has(step.name)) continue;
      const kind = kindOf(step);
      let ready: boolean;
      if (kind === 'batch_worker') ready = false;
      else if (kind === 'deferred_convergence') {
        ready = step.dependsOn.every((p) => present.has(p) || cannotExist(p));
      } else {
        ready = step.dependsOn.every(
          (p) => present.has(p) && (!isDecision(p) || chosen.get(p)?.has(step.name) === true),
        );
      }
      if (!ready) continue;
      present.add(step.name);
      planned.push(step);
      changed = true;
    }
  }
  const order = new Map(template.steps.map((s, i) => [s.name, i]));
  planned.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return {
    steps: planned,
    edges: planned.flatMap((step) =>
      step.dependsOn.filter((p) => present.has(p)).map((p): [string, string] => [p, step.name]),
    ),
  };
}

/**
 * What keeps a DAG's step kinds from making a workflow: a convergence step with no parent to
 * wait for, or no step a new task could start with.
 */
export function findWorkflowShapeProblems(steps: readonly StepTemplate[]): string[] {
  const problems = steps
    .filter((s) => kindOf(s) === 'deferred_convergence' && s.dependsOn.length === 0)
    .map(
      (s) =>
        `step '${s.name}': a deferred_convergence step lists the steps it may wait for as its dependencies; it has none`,
    );
  if (!initialSteps({ steps }).steps.some((s) => s.dependsOn.length === 0)) {
    problems.push(
      'no step can start when a task is created: every step without dependencies is a batch_worker',
    );
  }
  return problems;
}

/** The branches a decision step may name: the steps that list it as a parent. */
export function decisionBranches(
  template: { readonly steps: readonly StepTemplate[] },
  decision: string,
): string[] {
  return template.steps
    .filter(
      (s) =>
        s.dependsOn.includes(decision) &&
        kindOf(s) !== 'deferred_convergence' &&
        kindOf(s) !== 'batch_worker',
    )
    .map((s) => s.name);
}

/** How deeply a decision is nested: 1, plus one for each decision on its longest ancestry. */
export function decisionDepth(
  template: { readonly steps: readonly StepTemplate[] },
  name: string,
): number {
  const byName = new Map(template.steps.map((s) => [s.name, s]));
  const memo = new Map<string, number>();
  const depth = (n: string): number => {
    const cached = memo.get(n);
    if (cached !== undefined) return cached;
    const step = byName.get(n);
    const inherited = Math.max(0, ...(step?.dependsOn ?? []).map(depth));
    const value = inherited + (step && kindOf(step) === 'decision' ? 1 : 0);
    memo.set(n, value);
    return value;
  };
  return depth(name);
}
