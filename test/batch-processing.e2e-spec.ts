import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointYield, defineHandler, type StepHandlerContext, type StepView } from '#core';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Batch processing (Tasker Core's batchable / batch_worker / deferred_convergence), end to end
 * on each backend with a template in Tasker Core's format: a batchable step reads a CSV file
 * and asks for one worker per 5 rows; orchestration makes them (`process_rows_001`, …) with
 * their cursors as inputs; each worker saves a checkpoint every 2 rows and is run again from
 * it without spending an attempt; the convergence step adds up what they found. An empty file
 * makes one no-op worker.
 */
const TEMPLATE = `
name: csv_inventory
namespace_name: batches
version: 1.0.0
input_schema:
  type: object
  required: [path]
  properties: { path: { type: string } }
steps:
  - name: analyze_csv
    type: batchable
    handler:
      callable: csv.analyze
      initialization: { batch_size: 5, worker_template_name: process_rows }
  - name: process_rows
    type: batch_worker
    dependencies: [analyze_csv]
    handler: { callable: csv.process, initialization: { checkpoint_every: 2 } }
    batch_config:
      batch_size: 5
      parallelism: 3
      cursor_field: row_number
      worker_template: process_rows
      failure_strategy: continue_on_failure
  - name: aggregate
    type: deferred_convergence
    dependencies: [process_rows]
    handler: { callable: csv.aggregate }
`;

interface Row {
  sku: string;
  qty: number;
  price: number;
}

async function readRows(path: string): Promise<Row[]> {
  const [, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
  return lines.map((line) => {
    const [sku, qty, price] = line.split(',');
    return { sku: sku!, qty: Number(qty), price: Number(price) };
  });
}

const HANDLERS = [
  defineHandler('csv.analyze', async (ctx) => {
    const rows = await readRows(ctx.context.path as string);
    const size = ctx.config.batch_size as number;
    if (ctx.context.badOutcome) {
      return {
        batch_processing_outcome: {
          type: 'create_batches',
          worker_template_name: 'aggregate',
          cursor_configs: [{}],
        },
      };
    }
    if (rows.length === 0) return { batch_processing_outcome: { type: 'no_batches' }, rows: 0 };
    const cursors = [];
    for (let start = 0; start < rows.length; start += size) {
      const end = Math.min(rows.length, start + size);
      cursors.push({ start_cursor: start, end_cursor: end, batch_size: end - start });
    }
    return {
      batch_processing_outcome: {
        type: 'create_batches',
        worker_template_name: ctx.config.worker_template_name,
        worker_count: cursors.length,
        cursor_configs: cursors,
        total_items: rows.length,
      },
      rows: rows.length,
    };
  }),
  defineHandler('csv.process', async (ctx: StepHandlerContext) => {
    if (ctx.inputs.is_no_op) return { noOp: true, count: 0, qty: 0, value: 0 };
    const { start_cursor: start, end_cursor: end } = ctx.inputs.cursor as {
      start_cursor: number;
      end_cursor: number;
    };
    const rows = await readRows(ctx.context.path as string);
    const from = (ctx.checkpoint?.cursor as number | undefined) ?? start;
    const totals = (ctx.checkpoint?.accumulatedResults ?? { qty: 0, value: 0 }) as {
      qty: number;
      value: number;
    };
    for (let i = from; i < end; i++) {
      totals.qty += rows[i]!.qty;
      totals.value += rows[i]!.qty * rows[i]!.price;
      const done = i + 1 - start;
      if (done % (ctx.config.checkpoint_every as number) === 0 && i + 1 < end) {
        return checkpointYield({ cursor: i + 1, itemsProcessed: done, accumulatedResults: totals });
      }
    }
    return { count: end - start, ...totals, lastRunFrom: from };
  }),
  defineHandler('csv.aggregate', (ctx) => {
    const parts = Object.values(ctx.dependencyResults) as {
      count: number;
      qty: number;
      value: number;
    }[];
    return {
      workers: Object.keys(ctx.dependencyResults).sort(),
      count: parts.reduce((a, p) => a + p.count, 0),
      qty: parts.reduce((a, p) => a + p.qty, 0),
      value: parts.reduce((a, p) => a + p.value, 0),
    };
  }),
];

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

const byName = (steps: StepView[]) => Object.fromEntries(steps.map((s) => [s.name, s]));

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'batch processing over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;
    const rows: Row[] = Array.from({ length: 23 }, (_, i) => ({
      sku: `SKU-${i}`,
      qty: i % 7,
      price: 2 + (i % 3),
    }));
    const csv = (data: Row[]) =>
      ['sku,qty,price', ...data.map((r) => `${r.sku},${r.qty},${r.price}`)].join('\n') + '\n';
    const file = (name: string) => join(tasker.dir!, name);

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: {
          'csv_inventory.yaml': TEMPLATE,
          'products.csv': csv(rows),
          'empty.csv': csv([]),
        },
      });
    });

    afterAll(() => tasker?.stop());

    const run = async (context: Record<string, unknown>) => {
      const taskUuid = await tasker.submit({
        namespace: 'batches',
        name: 'csv_inventory',
        context,
      });
      return tasker.waitForStatus(taskUuid, ['complete', 'error']);
    };

    it('processes a CSV file in checkpointed batch workers and converges on all of them', async () => {
      const task = await run({ path: file('products.csv') });
      expect(task.status).toBe('complete');
      const workers = [
        'process_rows_001',
        'process_rows_002',
        'process_rows_003',
        'process_rows_004',
        'process_rows_005',
      ];
      expect(task.steps.map((s) => s.name).sort()).toEqual([
        'aggregate',
        'analyze_csv',
        ...workers,
      ]);
      const steps = byName(task.steps);
      expect(steps.aggregate!.dependsOn.sort()).toEqual(workers);
      expect(steps.analyze_csv).toMatchObject({ kind: 'batchable', createdSteps: workers });
      expect(steps.process_rows_003).toMatchObject({
        kind: 'batch_worker',
        template: 'process_rows',
        handler: 'csv.process',
        createdSteps: null,
      });
      expect(steps.aggregate!.result).toEqual({
        workers,
        count: 23,
        qty: rows.reduce((a, r) => a + r.qty, 0),
        value: rows.reduce((a, r) => a + r.qty * r.price, 0),
      });
      // A worker of 5 rows yields after rows 2 and 4 and finishes from row 4, on its first attempt.
      expect(steps.process_rows_002).toMatchObject({
        attempts: 1,
        result: { count: 5, lastRunFrom: 9 },
      });
      const { rows: saved } = await tasker.pool.query<{
        name: string;
        inputs: unknown;
        checkpoint: { cursor: number; items_processed: number; history: { cursor: number }[] };
      }>(
        `SELECT name, inputs, checkpoint FROM tasker.workflow_steps
          WHERE task_uuid = $1 AND name = 'process_rows_002'`,
        [task.taskUuid],
      );
      expect(saved[0]!.inputs).toEqual({
        cursor: { batch_id: '002', start_cursor: 5, end_cursor: 10, batch_size: 5 },
        batch_metadata: { cursor_field: 'row_number', failure_strategy: 'continue_on_failure' },
        is_no_op: false,
      });
      expect(saved[0]!.checkpoint).toMatchObject({ cursor: 9, items_processed: 4 });
      expect(saved[0]!.checkpoint.history.map((h) => h.cursor)).toEqual([7, 9]);
      // The last worker has 3 rows: one yield.
      expect(steps.process_rows_005).toMatchObject({
        attempts: 1,
        result: { count: 3, lastRunFrom: 22 },
      });
    });

    it('makes one no-op worker for an empty file, and still converges', async () => {
      const task = await run({ path: file('empty.csv') });
      expect(task.status).toBe('complete');
      expect(task.steps.map((s) => s.name).sort()).toEqual([
        'aggregate',
        'analyze_csv',
        'process_rows_000',
      ]);
      const steps = byName(task.steps);
      expect(steps.process_rows_000!.result).toEqual({ noOp: true, count: 0, qty: 0, value: 0 });
      expect(steps.aggregate!.result).toEqual({
        workers: ['process_rows_000'],
        count: 0,
        qty: 0,
        value: 0,
      });
    });

    it('fails a batchable step whose outcome asks for a template that is not its worker', async () => {
      const task = await run({ path: file('products.csv'), badOutcome: true });
      expect(task.status).toBe('error');
      expect(task.steps.map((s) => s.name)).toEqual(['analyze_csv']);
      expect(task.steps[0]).toMatchObject({
        state: 'error',
        error: {
          errorClass: 'InvalidOutcome',
          message: `batchable step 'analyze_csv' asked for workers of "aggregate"; its batch_worker steps are: process_rows`,
        },
      });
    });
  },
);
