import { SATISFIED_STEP_STATES, type StepState } from '../states/step-state.js';
import type { StepKind, StepTemplate } from './task-template.js';

/**
 * Which of a template's steps a task has, as its workflow grows at run time (Tasker Core's
 * decision points, batches and deferred convergence). Pure: the unit of work reads the task's
 * steps and writes what this plans.
 *
 * The rules, applied until nothing changes:
 * - a step whose parent is a `decision` step is a branch of that decision: it is created only
 *   when the decision's outcome names it;
 * - a `batch_worker` step is a template: a `batchable` parent's outcome makes instances of it
 *   (`<name>_<batch id>`, each with its cursor as inputs), never the step itself;
 * - any other step (a branch's children, a nested decision, a step after a convergence) is
 *   created as soon as all of its parents exist;
 * - a `deferred_convergence` step lists every parent it could have; it is created once none of
 *   them can still come into existence (each exists, or the decision or batch that would make
 *   it was made without it), depending on those that exist, a batch worker template standing
 *   for all of its instances. When none exists it depends on nothing and runs at once.
 * At submission nothing has been decided, so the task starts with the steps that need no
 * decision and no batch.
 */

export function kindOf(step: Pick<StepTemplate, 'kind'>): StepKind {
  return step.kind ?? 'standard';
}

/** A step a task has: its state, and the template step it was made from (its own name but for batch workers). */
export interface TaskStepState {
  state: StepState;
  template: string;
}

/** The batch workers a batchable step's outcome asks for, all made from one template step. */
export interface BatchWorkers {
  template: string;
  workers: { name: string; inputs: Record<string, unknown> }[];
}

/** Outcomes made and not yet applied: a decision's branches, a batchable step's workers. */
export interface StepOutcomes {
  decisions?: ReadonlyMap<string, ReadonlySet<string>>;
  batches?: ReadonlyMap<string, BatchWorkers>;
}

/** A step to create: a template step, or a batch worker made from one (`template`). */
export interface PlannedStep extends StepTemplate {
  template: string;
}

export interface PlannedSteps {
  /** The template's steps in its (topological) order, each batch's workers in theirs. */
  steps: PlannedStep[];
  /** [parent, child] by step name; parents may be steps the task already has. */
  edges: [string, string][];
}

const initialByTemplate = new WeakMap<object, Readonly<PlannedSteps>>();

/**
 * The steps a new task starts with, and their edges (parent, child). Planned once per template
 * object (templates are not changed once loaded; a registration makes a new one), since every
 * submission asks: the answer is shared, so callers must not change it.
 */
export function initialSteps(template: {
  readonly steps: readonly StepTemplate[];
}): Readonly<PlannedSteps> {
  let initial = initialByTemplate.get(template);
  if (!initial) {
    initial = planNewSteps(template, new Map(), {});
    initialByTemplate.set(template, initial);
  }
  return initial;
}

/**
 * The steps to add to a task that has `existing` (by name) once `outcomes` are applied (each
 * outcome's step counts as done whatever its state in `existing`). Steps the task has are
 * never planned again.
 */
export function planNewSteps(
  template: { readonly steps: readonly StepTemplate[] },
  existing: ReadonlyMap<string, TaskStepState>,
  outcomes: StepOutcomes,
): PlannedSteps {
  const byName = new Map(template.steps.map((s) => [s.name, s]));
  const kind = (name: string) => kindOf(byName.get(name) ?? {});
  const chosen = outcomes.decisions ?? new Map<string, ReadonlySet<string>>();
  const batches = outcomes.batches ?? new Map<string, BatchWorkers>();
  const made = (name: string) =>
    chosen.has(name) ||
    batches.has(name) ||
    SATISFIED_STEP_STATES.includes(existing.get(name)?.state ?? 'pending');
  // Every step the task has or will have, with the template step it comes from.
  const present = new Map([...existing].map(([name, step]) => [name, step.template]));
  const instancesOf = (name: string) =>
    [...present].filter(([step, from]) => from === name && step !== name).map(([step]) => step);
  const exists = (name: string) =>
    kind(name) === 'batch_worker' ? instancesOf(name).length > 0 : present.has(name);
  const planned: PlannedStep[] = [];
  const edges: [string, string][] = [];
  const add = (step: PlannedStep, parents: string[]) => {
    present.set(step.name, step.template);
    planned.push(step);
    for (const parent of parents) {
      const names = kind(parent) === 'batch_worker' ? instancesOf(parent) : [parent];
      edges.push(...names.map((n): [string, string] => [n, step.name]));
    }
  };

  // A step that can never be created: the decision or batch that would make it was made
  // without it, or a parent never will be. Facts that do not change while planning.
  const never = new Map<string, boolean>();
  const cannotExist = (name: string): boolean => {
    if (exists(name)) return false;
    const known = never.get(name);
    if (known !== undefined) return known;
    const step = byName.get(name);
    let result = false;
    if (step && kindOf(step) !== 'deferred_convergence') {
      result = step.dependsOn.some(
        (parent) =>
          (kind(parent) === 'decision' && made(parent) && !chosen.get(parent)?.has(name)) ||
          (kind(parent) === 'batchable' &&
            made(parent) &&
            batches.get(parent)?.template !== name) ||
          cannotExist(parent),
      );
    }
    never.set(name, result);
    return result;
  };

  for (const [batchable, batch] of batches) {
    const worker = byName.get(batch.template);
    if (!worker || !present.has(batchable)) continue;
    if (!worker.dependsOn.every((p) => p === batchable || exists(p))) continue;
    for (const { name, inputs } of batch.workers) {
      if (present.has(name)) continue;
      add(
        { ...worker, name, inputs: { ...worker.inputs, ...inputs }, template: worker.name },
        worker.dependsOn,
      );
    }
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const step of template.steps) {
      if (present.has(step.name)) continue;
      const stepKind = kindOf(step);
      let ready: boolean;
      if (stepKind === 'batch_worker') ready = false;
      else if (stepKind === 'deferred_convergence') {
        ready = step.dependsOn.every((p) => exists(p) || cannotExist(p));
      } else {
        ready = step.dependsOn.every(
          (p) =>
            present.has(p) && (kind(p) !== 'decision' || chosen.get(p)?.has(step.name) === true),
        );
      }
      if (!ready) continue;
      add({ ...step, template: step.name }, step.dependsOn.filter(exists));
      changed = true;
    }
  }
  const order = new Map(template.steps.map((s, i) => [s.name, i]));
  const rank = (s: PlannedStep) => order.get(s.template)!;
  return {
    steps: planned
      .map((step, i) => ({ step, i }))
      .sort((a, b) => rank(a.step) - rank(b.step) || a.i - b.i)
      .map(({ step }) => step),
    edges,
  };
}

/**
 * What keeps a DAG's step kinds from making a workflow: a convergence step with no parent to
 * wait for, a batch worker template no batchable step makes or that a step other than a
 * convergence waits for, or no step a new task could start with.
 */
export function findWorkflowShapeProblems(steps: readonly StepTemplate[]): string[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const problems = steps.flatMap((s) => {
    const kind = kindOf(s);
    if (kind === 'deferred_convergence' && s.dependsOn.length === 0) {
      return [
        `step '${s.name}': a deferred_convergence step lists the steps it may wait for as its dependencies; it has none`,
      ];
    }
    const workers = s.dependsOn.filter((p) => kindOf(byName.get(p) ?? {}) === 'batch_worker');
    if (kind !== 'deferred_convergence' && workers.length > 0) {
      return [
        `step '${s.name}': only a deferred_convergence step can wait for the instances of batch_worker '${workers[0]}'`,
      ];
    }
    if (
      kind === 'batch_worker' &&
      !s.dependsOn.some((p) => kindOf(byName.get(p) ?? {}) === 'batchable')
    ) {
      return [
        `step '${s.name}': a batch_worker step is made by a batchable step, which it must list in its dependencies`,
      ];
    }
    return [];
  });
  if (!initialSteps({ steps }).steps.some((s) => s.dependsOn.length === 0)) {
    problems.push(
      'no step can start when a task is created: every step without dependencies is a batch_worker',
    );
  }
  return problems;
}

/** The branches a decision step may name: the steps that list it as a parent. */
export function decisionBranches(
  template: {
    readonly steps: readonly { name: string; dependsOn: readonly string[]; kind?: StepKind }[];
  },
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
