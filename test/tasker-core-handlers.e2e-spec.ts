import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StepView, TaskView } from '#core';
import { BATCH_SUM_HANDLERS } from '../apps/worker/src/handlers/batch-sum.handlers.js';
import {
  BatchableStepHandler,
  DecisionHandler,
  defineDecisionHandler,
  defineHandler,
  Decision,
  ErrorType,
  PermanentError,
  type StepContext,
  StepHandler,
  type StepHandlerResult,
} from '../apps/worker/src/tasker-core/index.js';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Tasker Core's TypeScript handler API (tasker/tasker-core) end to end on each backend: our own
 * templates in Tasker Core's format, run by handler classes and functional handlers written
 * against that API, registered beside nothing else. Linear, diamond, tree and mixed DAGs; the
 * conditional approval on each of its three paths; a CSV file (and an empty one) in batch
 * workers that yield checkpoints; a failure retried until its last attempt; a permanent one.
 */
const template = (name: string, steps: string) => `
name: ${name}
namespace_name: compat
version: 1.0.0
steps:
${steps}`;

const collect = (name: string, deps: string[]) => `
  - name: ${name}
    dependencies: [${deps.join(', ')}]
    handler: { callable: Compat::Collect, initialization: { label: ${name} } }`;

const TEMPLATES: Record<string, string> = {
  linear: template(
    'linear',
    `
  - name: linear_step_1
    handler: { callable: Compat::LinearStart }
  - name: linear_step_2
    dependencies: [linear_step_1]
    handler: { callable: Compat::LinearNext, initialization: { after: linear_step_1, add: 1 } }
  - name: linear_step_3
    dependencies: [linear_step_2]
    handler: { callable: Compat::LinearNext, initialization: { after: linear_step_2, add: 2 } }
  - name: linear_step_4
    dependencies: [linear_step_3]
    handler: { callable: Compat::LinearNext, initialization: { after: linear_step_3, add: 3 } }`,
  ),
  diamond: template(
    'diamond',
    `
  - name: diamond_start
    handler: { callable: compat.diamond.start }
  - name: branch_b
    dependencies: [diamond_start]
    handler: { callable: compat.diamond.branch, initialization: { offset: 10 } }
  - name: branch_c
    dependencies: [diamond_start]
    handler: { callable: compat.diamond.branch, initialization: { offset: 20 } }
  - name: diamond_end
    dependencies: [branch_b, branch_c]
    handler: { callable: compat.diamond.end }`,
  ),
  tree: template(
    'tree',
    [
      collect('root', []),
      collect('left', ['root']),
      collect('right', ['root']),
      collect('left_left', ['left']),
      collect('left_right', ['left']),
      collect('right_left', ['right']),
      collect('leaves', ['left_left', 'left_right', 'right_left']),
    ].join(''),
  ),
  mixed: template(
    'mixed',
    [
      collect('s1', []),
      collect('s2', ['s1']),
      collect('s3', ['s1']),
      collect('s4', ['s2']),
      collect('s5', ['s3', 's4']),
      collect('s6', ['s1']),
      collect('s7', ['s5', 's6', 's2']),
    ].join(''),
  ),
  approval: template(
    'approval',
    `
  - name: validate_request
    handler: { callable: Compat::ValidateRequest }
  - name: routing_decision
    type: decision
    dependencies: [validate_request]
    handler: { callable: Compat::RoutingDecision }
  - name: auto_approve
    dependencies: [routing_decision]
    handler: { callable: compat.approve, initialization: { by: system } }
  - name: manager_approval
    dependencies: [routing_decision]
    handler: { callable: compat.approve, initialization: { by: manager } }
  - name: finance_review
    dependencies: [routing_decision]
    handler: { callable: compat.approve, initialization: { by: finance } }
  - name: finalize_approval
    type: deferred_convergence
    dependencies: [auto_approve, manager_approval, finance_review]
    handler: { callable: Compat::FinalizeApproval }`,
  ),
  csv: template(
    'csv',
    `
  - name: analyze_csv
    type: batchable
    handler: { callable: Compat::CsvAnalyzer, initialization: { workers: 3 } }
  - name: process_csv_batch
    type: batch_worker
    dependencies: [analyze_csv]
    handler: { callable: Compat::CsvBatchProcessor, initialization: { checkpoint_every: 2 } }
    batch_config: { batch_size: 4, parallelism: 3, cursor_field: row, worker_template: process_csv_batch, failure_strategy: fail_fast }
  - name: aggregate_csv_results
    type: deferred_convergence
    dependencies: [process_csv_batch]
    handler: { callable: Compat::CsvAggregator }`,
  ),
  retrying: template(
    'retrying',
    `
  - name: busy_service
    handler: { callable: Compat::BusyUntilLastRetry }
    retry: { retryable: true, max_attempts: 3, backoff: fixed, backoff_base_ms: 20 }`,
  ),
  dispatch: template(
    'dispatch',
    `
  - name: validate_step
    handler: { callable: Compat::MultiMethod, method: validate }
  - name: process_step
    dependencies: [validate_step]
    handler: { callable: Compat::MultiMethod, method: process }
  - name: summary_step
    dependencies: [process_step]
    handler: { callable: Compat::MultiMethod }`,
  ),
  declined: template(
    'declined',
    `
  - name: charge_card
    handler: { callable: compat.charge }
    retry: { retryable: true, max_attempts: 3, backoff: fixed, backoff_base_ms: 20 }`,
  ),
};

class LinearStart extends StepHandler {
  static override handlerName = 'Compat::LinearStart';
  call(context: StepContext): StepHandlerResult {
    const n = context.getInputOr('even_number', 2);
    return this.success({ value: n * n });
  }
}

class LinearNext extends StepHandler {
  static override handlerName = 'Compat::LinearNext';
  call(context: StepContext): StepHandlerResult {
    const previous = context.getDependencyField(context.getConfig<string>('after')!, 'value');
    return this.success({ value: (previous as number) + context.getConfig<number>('add')! });
  }
}

class Collect extends StepHandler {
  static override handlerName = 'Compat::Collect';
  call(context: StepContext): StepHandlerResult {
    const seen = new Set<string>([context.getConfig<string>('label')!]);
    for (const name of context.getDependencyResultKeys()) {
      for (const label of context.getDependencyField(name, 'visited') as string[]) seen.add(label);
    }
    return this.success({ visited: [...seen].sort() });
  }
}

class ValidateRequest extends StepHandler {
  static override handlerName = 'Compat::ValidateRequest';
  call(context: StepContext): StepHandlerResult {
    const amount = context.getInput<number>('amount');
    if (typeof amount !== 'number' || amount < 0) {
      return this.failure('amount must be a number', ErrorType.VALIDATION_ERROR, false);
    }
    return this.success({ amount });
  }
}

class RoutingDecision extends DecisionHandler {
  static override handlerName = 'Compat::RoutingDecision';
  call(context: StepContext): StepHandlerResult {
    const amount = context.getDependencyField('validate_request', 'amount') as number;
    if (amount < 1000) return this.decisionSuccess(['auto_approve'], { tier: 'small' });
    if (amount < 5000) return this.decisionSuccess(['manager_approval'], { tier: 'medium' });
    return this.decisionSuccess(['manager_approval', 'finance_review'], { tier: 'large' });
  }
}

class FinalizeApproval extends StepHandler {
  static override handlerName = 'Compat::FinalizeApproval';
  call(context: StepContext): StepHandlerResult {
    const approvers = context
      .getDependencyResultKeys()
      .map((name) => context.getDependencyField(name, 'approved_by'))
      .sort();
    return this.success({ approved: true, approvers });
  }
}

async function csvRows(path: string): Promise<number[]> {
  const [, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
  return lines.map((line) => Number(line.split(',')[1]));
}

class CsvAnalyzer extends BatchableStepHandler {
  static override handlerName = 'Compat::CsvAnalyzer';
  async call(context: StepContext): Promise<StepHandlerResult> {
    const rows = await csvRows(context.getInput<string>('csv_file_path')!);
    if (rows.length === 0) return this.noBatchesResult('empty file', { total_rows: 0 });
    const configs = this.createCursorConfigs(rows.length, context.getConfig<number>('workers')!);
    return this.batchSuccess('process_csv_batch', configs, { total_rows: rows.length });
  }
}

class CsvBatchProcessor extends BatchableStepHandler {
  static override handlerName = 'Compat::CsvBatchProcessor';
  async call(context: StepContext): Promise<StepHandlerResult> {
    const noOp = this.handleNoOpWorker(context);
    if (noOp) return noOp;
    const batch = this.getBatchContext(context)!;
    const rows = await csvRows(context.getInput<string>('csv_file_path')!);
    const start = batch.startCursor as number;
    const end = batch.endCursor as number;
    const from = batch.hasCheckpoint() ? (batch.checkpointCursor as number) : start;
    let total = Number(batch.accumulatedResults?.total ?? 0);
    const every = context.getConfig<number>('checkpoint_every')!;
    for (let i = from; i < end; i++) {
      total += rows[i]!;
      if ((i + 1 - start) % every === 0 && i + 1 < end) {
        return this.checkpointYield(i + 1, i + 1 - start, { total });
      }
    }
    return this.success({ items_processed: end - start, total, resumed_from: from });
  }
}

class CsvAggregator extends BatchableStepHandler {
  static override handlerName = 'Compat::CsvAggregator';
  call(context: StepContext): StepHandlerResult {
    const scenario = this.detectAggregationScenario(
      context.dependencyResults,
      'analyze_csv',
      'process_csv_batch_',
    );
    return this.aggregateBatchWorkerResults(scenario, { total: 0, rows: 0 }, (workers) => {
      const parts = Object.values(workers) as { total: number; items_processed: number }[];
      return {
        total: parts.reduce((a, p) => a + p.total, 0),
        rows: parts.reduce((a, p) => a + p.items_processed, 0),
      };
    });
  }
}

class BusyUntilLastRetry extends StepHandler {
  static override handlerName = 'Compat::BusyUntilLastRetry';
  call(context: StepContext): StepHandlerResult {
    if (!context.isLastRetry()) {
      return this.failure('service busy', ErrorType.RETRYABLE_ERROR, true, {}, 'E_BUSY');
    }
    return this.success({ succeededOnRetry: context.retryCount, isRetry: context.isRetry() });
  }
}

/** Tasker Core's method dispatch: each step names the method of one class it calls. */
class MultiMethod extends StepHandler {
  static override handlerName = 'Compat::MultiMethod';
  call(context: StepContext): StepHandlerResult {
    return this.success({
      method: 'call',
      after: context.getDependencyField('process_step', 'method'),
    });
  }
  validate(context: StepContext): StepHandlerResult {
    return this.success({ method: 'validate', amount: context.getInput('amount') });
  }
  process(context: StepContext): StepHandlerResult {
    const amount = context.getDependencyField('validate_step', 'amount') as number;
    return this.success({ method: 'process', doubled: amount * 2 });
  }
}

const HANDLERS = [
  MultiMethod,
  LinearStart,
  LinearNext,
  Collect,
  ValidateRequest,
  RoutingDecision,
  FinalizeApproval,
  CsvAnalyzer,
  CsvBatchProcessor,
  CsvAggregator,
  BusyUntilLastRetry,
  ...BATCH_SUM_HANDLERS,
  defineHandler('compat.diamond.start', { inputs: { n: 'n' } }, ({ n }) => ({
    value: (n as number) * (n as number),
  })),
  defineHandler(
    'compat.diamond.branch',
    { depends: { start: 'diamond_start' } },
    ({ start, context }) => ({
      value: (start as { value: number }).value + context.getConfig<number>('offset')!,
    }),
  ),
  defineHandler(
    'compat.diamond.end',
    { depends: { b: 'branch_b', c: 'branch_c' } },
    ({ b, c }) => ({
      value: (b as { value: number }).value + (c as { value: number }).value,
    }),
  ),
  defineHandler('compat.approve', {}, ({ context }) => ({
    approved_by: context.getConfig('by'),
  })),
  defineHandler('compat.charge', {}, () => {
    throw new PermanentError('card declined', { code: 'card_declined' });
  }),
  // Unused by the templates: the functional decision style compiles to the same outcome.
  defineDecisionHandler('compat.unused_decision', {}, () => Decision.route(['x'])),
];

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

const byName = (steps: StepView[]) => Object.fromEntries(steps.map((s) => [s.name, s]));
const names = (task: TaskView) => task.steps.map((s) => s.name).sort();

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  "Tasker Core's handler API over %s",
  (_label, setup) => {
    let tasker: TaskerHarness;
    const csvValues = Array.from({ length: 11 }, (_, i) => (i * 7) % 10);
    const csv = (values: number[]) =>
      ['sku,value', ...values.map((v, i) => `SKU-${i},${v}`)].join('\n') + '\n';
    const file = (name: string) => join(tasker.dir!, name);

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: {
          ...Object.fromEntries(Object.entries(TEMPLATES).map(([n, t]) => [`${n}.yaml`, t])),
          'batch_sum.yaml': await readFile('config/tasks/examples/batch_sum.yaml', 'utf8'),
          'products.csv': csv(csvValues),
          'empty.csv': csv([]),
        },
      });
    });

    afterAll(() => tasker?.stop());

    const run = (name: string, context: Record<string, unknown>, namespace = 'compat') =>
      tasker.run(namespace, name, context);

    it('runs a linear workflow of four class handlers', async () => {
      const task = await run('linear', { even_number: 6 });
      expect(task.status).toBe('complete');
      expect(task.steps.map((s) => [s.name, s.result])).toEqual([
        ['linear_step_1', { value: 36 }],
        ['linear_step_2', { value: 37 }],
        ['linear_step_3', { value: 39 }],
        ['linear_step_4', { value: 42 }],
      ]);
    });

    it('runs a diamond of functional handlers with injected arguments', async () => {
      const task = await run('diamond', { n: 3 });
      expect(task.status).toBe('complete');
      const steps = byName(task.steps);
      expect(steps.branch_b!.result).toEqual({ value: 19 });
      expect(steps.branch_c!.result).toEqual({ value: 29 });
      expect(steps.diamond_end!.result).toEqual({ value: 48 });
    });

    it.each([
      [
        'tree',
        'leaves',
        ['leaves', 'left', 'left_left', 'left_right', 'right', 'right_left', 'root'],
      ],
      ['mixed', 's7', ['s1', 's2', 's3', 's4', 's5', 's6', 's7']],
    ])('runs the %s DAG, every step seeing what came before it', async (name, last, seen) => {
      const task = await run(name, {});
      expect(task.status).toBe('complete');
      expect(task.steps.every((s) => s.state === 'complete' && s.attempts === 1)).toBe(true);
      expect(byName(task.steps)[last]!.result).toEqual({ visited: seen });
    });

    it.each([
      [500, ['auto_approve'], ['system']],
      [2500, ['manager_approval'], ['manager']],
      [7500, ['finance_review', 'manager_approval'], ['finance', 'manager']],
    ])('routes an approval of %d through %j', async (amount, branches, approvers) => {
      const task = await run('approval', { amount });
      expect(task.status).toBe('complete');
      expect(names(task)).toEqual(
        ['finalize_approval', 'routing_decision', 'validate_request', ...branches].sort(),
      );
      const steps = byName(task.steps);
      expect(steps.routing_decision!.result).toMatchObject({
        decision_point_outcome: { type: 'create_steps', step_names: expect.any(Array) as unknown },
        routing_context: { tier: expect.any(String) as unknown },
      });
      expect(steps.finalize_approval!.result).toEqual({ approved: true, approvers });
    });

    it('processes a CSV file in checkpointed batch workers made by class handlers', async () => {
      const task = await run('csv', { csv_file_path: file('products.csv') });
      expect(task.status).toBe('complete');
      const workers = ['process_csv_batch_001', 'process_csv_batch_002', 'process_csv_batch_003'];
      expect(names(task)).toEqual(['aggregate_csv_results', 'analyze_csv', ...workers]);
      const steps = byName(task.steps);
      expect(steps.aggregate_csv_results!.result).toEqual({
        total: csvValues.reduce((a, b) => a + b, 0),
        rows: 11,
        worker_count: 3,
        scenario: 'with_batches',
      });
      // 4 rows each (3 for the last): yields after rows 2 (and not at the end), one attempt.
      expect(steps.process_csv_batch_001).toMatchObject({
        attempts: 1,
        result: { items_processed: 4, resumed_from: 2 },
      });
      expect(steps.process_csv_batch_003).toMatchObject({
        attempts: 1,
        result: { items_processed: 3, resumed_from: 10 },
      });
    });

    it('runs the no-op worker for an empty CSV file, and aggregates nothing', async () => {
      const task = await run('csv', { csv_file_path: file('empty.csv') });
      expect(task.status).toBe('complete');
      expect(names(task)).toEqual([
        'aggregate_csv_results',
        'analyze_csv',
        'process_csv_batch_000',
      ]);
      const steps = byName(task.steps);
      expect(steps.process_csv_batch_000!.result).toMatchObject({ no_op: true, batch_id: '000' });
      expect(steps.aggregate_csv_results!.result).toEqual({
        total: 0,
        rows: 0,
        worker_count: 0,
        scenario: 'no_batches',
      });
    });

    it('runs the batch_sum example, written with the same API', async () => {
      const task = await run('batch_sum', { items: 1000 }, 'examples');
      expect(task.status).toBe('complete');
      expect(byName(task.steps).total!.result).toEqual({
        sum: 499500,
        count: 1000,
        worker_count: 4,
        scenario: 'with_batches',
      });
    });

    it('retries a retryable failure until it succeeds on its last attempt', async () => {
      const task = await run('retrying', {});
      expect(task.status).toBe('complete');
      expect(task.steps[0]).toMatchObject({
        attempts: 3,
        result: { succeededOnRetry: 2, isRetry: true },
      });
    });

    it("dispatches each step to the method its template's handler.method names", async () => {
      const task = await run('dispatch', { amount: 21 });
      expect(task.status).toBe('complete');
      expect(task.steps.map((s) => [s.name, s.result])).toEqual([
        ['validate_step', { method: 'validate', amount: 21 }],
        ['process_step', { method: 'process', doubled: 42 }],
        ['summary_step', { method: 'call', after: 'process' }],
      ]);
    });

    it('stops at once on a permanent error', async () => {
      const task = await run('declined', {});
      expect(task.status).toBe('error');
      expect(task.steps[0]).toMatchObject({
        state: 'error',
        attempts: 1,
        error: { message: 'card declined', errorClass: 'permanent_error', permanent: true },
      });
    });

    it('fails a step whose validation failure is not retryable, on its first attempt', async () => {
      const task = await run('approval', { amount: 'lots' });
      expect(task.status).toBe('error');
      expect(byName(task.steps).validate_request).toMatchObject({
        attempts: 1,
        error: { message: 'amount must be a number', errorClass: 'validation_error' },
      });
    });
  },
);
