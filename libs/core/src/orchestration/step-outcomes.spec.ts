import { templateStep } from '#testing';
import { readBatchOutcome, readDecisionOutcome } from './step-outcomes.js';

const step = templateStep;

const template = {
  steps: [
    step('route', 'decision'),
    step('small', 'standard', 'route'),
    step('large', 'standard', 'route'),
    step('nested', 'decision', 'large'),
    step('deep', 'standard', 'nested'),
    step('done', 'deferred_convergence', 'small', 'large'),
  ],
};
const limits = { maxStepsPerDecision: 100, maxDecisionDepth: 20, maxBatchWorkers: 10 };
const outcome = (o: unknown) => ({ decision_point_outcome: o });

describe('readDecisionOutcome', () => {
  it('reads the branches of create_steps, each once, and none of no_branches', () => {
    expect(
      readDecisionOutcome(
        template,
        'route',
        { ...outcome({ type: 'create_steps', step_names: ['large', 'small', 'large'] }), x: 1 },
        limits,
      ),
    ).toEqual({ branches: ['large', 'small'] });
    expect(
      readDecisionOutcome(template, 'route', outcome({ type: 'no_branches' }), limits),
    ).toEqual({ branches: [] });
  });

  it('explains a result without an outcome', () => {
    for (const result of [undefined, null, 42, [], { route: 'small' }]) {
      expect(readDecisionOutcome(template, 'route', result, limits)).toEqual({
        problem: expect.stringContaining(
          'decision \'route\' returned no decision_point_outcome; return {"decision_point_outcome": {"type": "create_steps"',
        ) as unknown,
      });
    }
  });

  it('explains an unknown outcome type and a create_steps without names', () => {
    expect(readDecisionOutcome(template, 'route', outcome({ type: 'maybe' }), limits)).toEqual({
      problem:
        'decision \'route\' returned decision_point_outcome.type "maybe"; use create_steps or no_branches',
    });
    for (const names of [undefined, [], ['small', 3]]) {
      expect(
        readDecisionOutcome(
          template,
          'route',
          outcome({ type: 'create_steps', step_names: names }),
          limits,
        ),
      ).toEqual({
        problem:
          "decision 'route' returned create_steps without a non-empty step_names list of step names (use no_branches to create none)",
      });
    }
  });

  it('refuses names that are not branches of this decision', () => {
    expect(
      readDecisionOutcome(
        template,
        'route',
        outcome({ type: 'create_steps', step_names: ['small', 'deep', 'done'] }),
        limits,
      ),
    ).toEqual({
      problem:
        "decision 'route' may create only its declared branches (small, large); 'deep', 'done' are not among them",
    });
  });

  it('refuses a decision nested deeper than allowed', () => {
    const result = outcome({ type: 'create_steps', step_names: ['deep'] });
    expect(readDecisionOutcome(template, 'nested', result, limits)).toEqual({
      branches: ['deep'],
    });
    expect(
      readDecisionOutcome(template, 'nested', result, { ...limits, maxDecisionDepth: 1 }),
    ).toEqual({
      problem: "decision 'nested' is nested 2 decisions deep; at most 1 are allowed",
    });
  });
});

describe('readBatchOutcome', () => {
  const batchTemplate = {
    steps: [
      { ...step('split', 'batchable'), config: { worker_template_name: 'rows' } },
      {
        ...step('rows', 'batch_worker', 'split'),
        batch: {
          batchSize: 10,
          parallelism: 2,
          cursorField: 'row_number',
          workerTemplate: 'rows',
          failureStrategy: 'continue_on_failure' as const,
        },
      },
      step('other', 'batch_worker', 'split'),
    ],
  };
  const batches = (o: unknown) => ({ batch_processing_outcome: o });
  const metadata = { cursor_field: 'row_number', failure_strategy: 'continue_on_failure' };

  it('names a worker per cursor, by batch id or position, with its cursor as inputs', () => {
    expect(
      readBatchOutcome(
        batchTemplate,
        'split',
        batches({
          type: 'create_batches',
          worker_template_name: 'rows',
          worker_count: 2,
          cursor_configs: [
            { start_cursor: 1, end_cursor: 11, batch_size: 10 },
            { batch_id: 'tail', start_cursor: 11, end_cursor: 15, batch_size: 4 },
          ],
          total_items: 14,
        }),
        limits,
      ),
    ).toEqual({
      template: 'rows',
      workers: [
        {
          name: 'rows_001',
          inputs: {
            cursor: { batch_id: '001', start_cursor: 1, end_cursor: 11, batch_size: 10 },
            batch_metadata: metadata,
            is_no_op: false,
          },
        },
        {
          name: 'rows_tail',
          inputs: {
            cursor: { batch_id: 'tail', start_cursor: 11, end_cursor: 15, batch_size: 4 },
            batch_metadata: metadata,
            is_no_op: false,
          },
        },
      ],
    });
  });

  it('makes one no-op worker for no_batches, from the template the step names', () => {
    expect(
      readBatchOutcome(batchTemplate, 'split', batches({ type: 'no_batches' }), limits),
    ).toEqual({
      template: 'rows',
      workers: [
        {
          name: 'rows_000',
          inputs: {
            cursor: { batch_id: '000', start_cursor: 0, end_cursor: 0, batch_size: 0 },
            batch_metadata: metadata,
            is_no_op: true,
          },
        },
      ],
    });
  });

  it('explains each outcome it cannot apply', () => {
    const create = (o: Record<string, unknown>) =>
      batches({ type: 'create_batches', worker_template_name: 'rows', ...o });
    const cursor = { start_cursor: 0, end_cursor: 1, batch_size: 1 };
    const cases: [unknown, string][] = [
      [{ rows: 3 }, "batchable step 'split' returned no batch_processing_outcome; return"],
      [
        batches({ type: 'split' }),
        'batch_processing_outcome.type "split"; use create_batches or no_batches',
      ],
      [
        create({ worker_template_name: 'split' }),
        'asked for workers of "split"; its batch_worker steps are: rows, other',
      ],
      [create({ cursor_configs: [] }), 'without a non-empty cursor_configs list of objects'],
      [
        create({ cursor_configs: [cursor], worker_count: 2 }),
        'worker_count 2 with 1 cursor_configs',
      ],
      [
        create({ cursor_configs: Array(11).fill(cursor) }),
        'asked for 11 batch workers; at most 10',
      ],
      [
        create({ cursor_configs: [{ ...cursor, batch_id: 'a b' }] }),
        'batch_id "a b"; a batch id is',
      ],
      [
        create({
          cursor_configs: [
            { ...cursor, batch_id: 'x' },
            { ...cursor, batch_id: 'x' },
          ],
        }),
        'returned the same batch_id twice',
      ],
    ];
    for (const [result, problem] of cases) {
      const read = readBatchOutcome(batchTemplate, 'split', result, limits);
      expect('problem' in read && read.problem).toContain(problem);
    }
    const unnamed = { steps: batchTemplate.steps.map((s) => ({ ...s, config: {} })) };
    expect(readBatchOutcome(unnamed, 'split', batches({ type: 'no_batches' }), limits)).toEqual({
      problem:
        "batchable step 'split' returned no_batches, but which of its batch_worker steps (rows, other) makes the no-op worker is unclear: set handler.initialization.worker_template_name",
    });
  });
});
