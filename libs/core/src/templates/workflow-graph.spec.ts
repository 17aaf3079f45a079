import type { StepState } from '../states/step-state.js';
import { templateStep } from '#testing';
import {
  decisionBranches,
  decisionDepth,
  findWorkflowShapeProblems,
  initialSteps,
  planNewSteps,
} from './workflow-graph.js';

const step = templateStep;
const std = (name: string, ...deps: string[]) => step(name, 'standard', ...deps);

/** Tasker Core's conditional approval: one decision, three branches, one convergence. */
const approval = {
  steps: [
    std('validate'),
    step('route', 'decision', 'validate'),
    std('auto_approve', 'route'),
    std('manager_approval', 'route'),
    std('finance_review', 'route'),
    step('finalize', 'deferred_convergence', 'auto_approve', 'manager_approval', 'finance_review'),
  ],
};

/** Nested decisions: d1 picks a or b; a leads to d2, which picks a1 or a2; all converge. */
const tree = {
  steps: [
    step('d1', 'decision'),
    std('a', 'd1'),
    std('b', 'd1'),
    step('d2', 'decision', 'a'),
    std('a1', 'd2'),
    std('a2', 'd2'),
    step('converge', 'deferred_convergence', 'b', 'a1', 'a2'),
    std('report', 'converge'),
  ],
};

const names = (planned: { steps: { name: string }[] }) => planned.steps.map((s) => s.name);
const has = (...entries: [string, StepState][]) =>
  new Map(entries.map(([name, state]) => [name, { state, template: name }]));
const chose = (decision: string, ...branches: string[]) => ({
  decisions: new Map([[decision, new Set(branches)]]),
});

describe('initialSteps', () => {
  it('starts a task with the steps that need no decision', () => {
    const initial = initialSteps(approval);
    expect(names(initial)).toEqual(['validate', 'route']);
    expect(initial.edges).toEqual([['validate', 'route']]);
  });

  it('starts a plain DAG with every step, a convergence on created steps included', () => {
    const plain = {
      steps: [std('a'), std('b', 'a'), step('join', 'deferred_convergence', 'a', 'b')],
    };
    const initial = initialSteps(plain);
    expect(names(initial)).toEqual(['a', 'b', 'join']);
    expect(initial.edges).toEqual([
      ['a', 'b'],
      ['a', 'join'],
      ['b', 'join'],
    ]);
  });

  it('never creates batch worker templates', () => {
    const batch = {
      steps: [step('split', 'batchable'), step('work', 'batch_worker', 'split')],
    };
    expect(names(initialSteps(batch))).toEqual(['split']);
  });
});

describe('planNewSteps', () => {
  const decided = has(['validate', 'complete'], ['route', 'complete']);

  it('creates the branch a decision names, and the convergence on it alone', () => {
    const planned = planNewSteps(approval, decided, chose('route', 'auto_approve'));
    expect(names(planned)).toEqual(['auto_approve', 'finalize']);
    expect(planned.edges).toEqual([
      ['route', 'auto_approve'],
      ['auto_approve', 'finalize'],
    ]);
  });

  it('makes the convergence wait for every branch taken', () => {
    const planned = planNewSteps(
      approval,
      decided,
      chose('route', 'manager_approval', 'finance_review'),
    );
    expect(names(planned)).toEqual(['manager_approval', 'finance_review', 'finalize']);
    expect(planned.edges).toEqual([
      ['route', 'manager_approval'],
      ['route', 'finance_review'],
      ['manager_approval', 'finalize'],
      ['finance_review', 'finalize'],
    ]);
  });

  it('still creates the convergence, with no parent, when the decision takes no branch', () => {
    const planned = planNewSteps(approval, decided, chose('route'));
    expect(names(planned)).toEqual(['finalize']);
    expect(planned.edges).toEqual([]);
  });

  it('plans nothing while the decision is not made', () => {
    const waiting = has(['validate', 'complete'], ['route', 'in_progress']);
    expect(planNewSteps(approval, waiting, {})).toEqual({ steps: [], edges: [] });
  });

  it('creates a nested decision with its branch, and waits for it before converging', () => {
    const first = planNewSteps(tree, has(['d1', 'complete']), chose('d1', 'a'));
    expect(names(first)).toEqual(['a', 'd2']);
    expect(first.edges).toEqual([
      ['d1', 'a'],
      ['a', 'd2'],
    ]);

    const second = planNewSteps(
      tree,
      has(['d1', 'complete'], ['a', 'complete'], ['d2', 'complete']),
      chose('d2', 'a2'),
    );
    expect(names(second)).toEqual(['a2', 'converge', 'report']);
    expect(second.edges).toEqual([
      ['d2', 'a2'],
      ['a2', 'converge'],
      ['converge', 'report'],
    ]);
  });

  it('converges at once when the outer decision takes the branch without a nested decision', () => {
    const planned = planNewSteps(tree, has(['d1', 'complete']), chose('d1', 'b'));
    // a1 and a2 can no longer exist: their decision d2 never will.
    expect(names(planned)).toEqual(['b', 'converge', 'report']);
    expect(planned.edges).toEqual([
      ['d1', 'b'],
      ['b', 'converge'],
      ['converge', 'report'],
    ]);
  });

  it('does not create a named branch whose other parent the task does not have', () => {
    const template = {
      steps: [
        std('start'),
        step('pick', 'decision', 'start'),
        std('maybe', 'start'),
        std('x', 'pick', 'elsewhere'),
        step('elsewhere', 'decision', 'start'),
      ],
    };
    const planned = planNewSteps(
      template,
      has(['start', 'complete'], ['pick', 'complete'], ['maybe', 'pending']),
      chose('pick', 'x'),
    );
    expect(names(planned)).toEqual(['elsewhere']);
  });

  it('never plans a step the task has', () => {
    const planned = planNewSteps(
      approval,
      has(['validate', 'complete'], ['route', 'complete'], ['auto_approve', 'complete']),
      chose('route', 'auto_approve'),
    );
    expect(names(planned)).toEqual(['finalize']);
  });
});

describe('planNewSteps for batches', () => {
  const batch = {
    steps: [
      std('analyze'),
      step('analyze_rows', 'batchable', 'analyze'),
      { ...step('rows', 'batch_worker', 'analyze_rows'), inputs: { mode: 'strict' } },
      step('aggregate', 'deferred_convergence', 'rows'),
      std('report', 'aggregate'),
    ],
  };
  const workers = (...ids: string[]) => ({
    batches: new Map([
      [
        'analyze_rows',
        { template: 'rows', workers: ids.map((id) => ({ name: `rows_${id}`, inputs: { id } })) },
      ],
    ]),
  });
  const analyzed = has(['analyze', 'complete'], ['analyze_rows', 'complete']);

  it('starts without the batch workers or what waits for them', () => {
    expect(names(initialSteps(batch))).toEqual(['analyze', 'analyze_rows']);
  });

  it('makes one worker per batch, and a convergence on all of them', () => {
    const planned = planNewSteps(batch, analyzed, workers('001', '002'));
    expect(names(planned)).toEqual(['rows_001', 'rows_002', 'aggregate', 'report']);
    expect(planned.steps[0]).toMatchObject({
      template: 'rows',
      kind: 'batch_worker',
      inputs: { mode: 'strict', id: '001' },
    });
    expect(planned.edges).toEqual([
      ['analyze_rows', 'rows_001'],
      ['analyze_rows', 'rows_002'],
      ['rows_001', 'aggregate'],
      ['rows_002', 'aggregate'],
      ['aggregate', 'report'],
    ]);
  });

  it('waits for the batchable step before converging, and counts instances as its workers', () => {
    const waiting = has(['analyze', 'complete'], ['analyze_rows', 'in_progress']);
    expect(names(planNewSteps(batch, waiting, {}))).toEqual([]);
    const existing = new Map([
      ...analyzed,
      ['rows_001', { state: 'pending' as const, template: 'rows' }],
    ]);
    const planned = planNewSteps(batch, existing, {});
    expect(names(planned)).toEqual(['aggregate', 'report']);
    expect(planned.edges).toEqual([
      ['rows_001', 'aggregate'],
      ['aggregate', 'report'],
    ]);
  });
});

describe('decision helpers', () => {
  it('lists the branches a decision may name: its children, convergence steps left out', () => {
    expect(decisionBranches(approval, 'route')).toEqual([
      'auto_approve',
      'manager_approval',
      'finance_review',
    ]);
    const direct = { steps: [...approval.steps, step('after', 'deferred_convergence', 'route')] };
    expect(decisionBranches(direct, 'route')).not.toContain('after');
  });

  it('counts how deeply decisions nest', () => {
    expect(decisionDepth(tree, 'd1')).toBe(1);
    expect(decisionDepth(tree, 'd2')).toBe(2);
    expect(decisionDepth(approval, 'route')).toBe(1);
  });

  it('finds kinds that keep a DAG from making a workflow', () => {
    expect(findWorkflowShapeProblems(approval.steps)).toEqual([]);
    expect(findWorkflowShapeProblems([std('a'), step('join', 'deferred_convergence')])).toEqual([
      "step 'join': a deferred_convergence step lists the steps it may wait for as its dependencies; it has none",
    ]);
    expect(findWorkflowShapeProblems([step('w', 'batch_worker')])).toEqual([
      "step 'w': a batch_worker step is made by a batchable step, which it must list in its dependencies",
      'no step can start when a task is created: every step without dependencies is a batch_worker',
    ]);
    expect(
      findWorkflowShapeProblems([
        step('split', 'batchable'),
        step('w', 'batch_worker', 'split'),
        std('after', 'w'),
      ]),
    ).toEqual([
      "step 'after': only a deferred_convergence step can wait for the instances of batch_worker 'w'",
    ]);
  });
});
