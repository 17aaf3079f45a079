import { setTimeout as sleep } from 'node:timers/promises';
import type { StepHandlerContext, StepHandlerDefinition } from '#core';
import { checkpointYield, defineHandler, PermanentStepError, RetryableStepError } from '#core';

/** The `value` of the first dependency that has one, else context.n: what square works on. */
function inputValue(ctx: StepHandlerContext): number {
  for (const result of Object.values(ctx.dependencyResults)) {
    const value = (result as { value?: unknown } | null)?.value;
    if (typeof value === 'number') return value;
  }
  const n = ctx.context.n;
  if (typeof n !== 'number')
    throw new PermanentStepError('examples.square needs context.n or a parent value');
  return n;
}

function nonNegativeInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback;
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** A batch worker's cursor (Tasker Core's batch worker inputs): items [start, end). */
function cursorOf(ctx: StepHandlerContext): { start: number; end: number; noOp: boolean } {
  const cursor = ctx.inputs.cursor as { start_cursor?: unknown; end_cursor?: unknown } | undefined;
  const start = cursor?.start_cursor;
  const end = cursor?.end_cursor;
  if (typeof start !== 'number' || typeof end !== 'number') {
    throw new PermanentStepError(
      'examples.sum_batch runs as a batch worker, with a cursor as inputs',
    );
  }
  return { start, end, noOp: ctx.inputs.is_no_op === true };
}

/**
 * Handlers for the templates in config/tasks/examples. `sleep` and `flaky` take their behaviour
 * from the task context (`sleep` also from its step's inputs or handler config), so timeouts,
 * retries and permanent failures can be driven over HTTP. `plan_batches`, `sum_batch` and
 * `total` are batch_sum's: the sum of the items 0..items-1 over batch workers that save a
 * checkpoint every `checkpoint_every` items and resume from it.
 */
export const EXAMPLE_HANDLERS: readonly StepHandlerDefinition[] = [
  defineHandler('examples.square', (ctx) => {
    const x = inputValue(ctx);
    return { value: x * x };
  }),

  defineHandler('examples.sum', (ctx) => {
    const values = Object.values(ctx.dependencyResults).map(
      (r) => (r as { value?: unknown } | null)?.value,
    );
    if (!values.every((v): v is number => typeof v === 'number')) {
      throw new PermanentStepError('examples.sum needs a numeric value from every dependency');
    }
    return { value: values.reduce((a, b) => a + b, 0) };
  }),

  defineHandler('examples.sleep', async (ctx) => {
    const ms = nonNegativeInt(ctx.context.sleepMs ?? ctx.inputs.sleepMs ?? ctx.config.sleepMs, 0);
    await sleep(ms, undefined, { signal: ctx.signal });
    return { sleptMs: ms };
  }),

  defineHandler('examples.flaky', (ctx) => {
    if (ctx.context.permanent === true) {
      throw new PermanentStepError('examples.flaky was asked to fail permanently');
    }
    const failTimes = nonNegativeInt(ctx.context.failTimes, 0);
    if (ctx.attempt <= failTimes) {
      throw new RetryableStepError(
        `examples.flaky: failing attempt ${ctx.attempt} of ${failTimes}`,
      );
    }
    return { succeededOnAttempt: ctx.attempt };
  }),

  // Batchable: one worker per batch_size items, or a no-op worker when there are none.
  defineHandler('examples.plan_batches', (ctx) => {
    const items = nonNegativeInt(ctx.context.items, 0);
    const size = positiveInt(ctx.context.batchSize ?? ctx.config.batch_size, 100);
    if (items === 0) {
      return { batch_processing_outcome: { type: 'no_batches' }, total_items: 0 };
    }
    const cursors = [];
    for (let start = 0; start < items; start += size) {
      const end = Math.min(items, start + size);
      cursors.push({ start_cursor: start, end_cursor: end, batch_size: end - start });
    }
    return {
      batch_processing_outcome: {
        type: 'create_batches',
        worker_template_name: ctx.config.worker_template_name,
        worker_count: cursors.length,
        cursor_configs: cursors,
        total_items: items,
      },
      total_items: items,
    };
  }),

  // Batch worker: adds up its items, resuming from its checkpoint, and yields every
  // checkpoint_every items (context.itemDelayMs slows each item down).
  defineHandler('examples.sum_batch', async (ctx) => {
    const { start, end, noOp } = cursorOf(ctx);
    if (noOp) return { sum: 0, count: 0, noOp: true };
    const every = positiveInt(ctx.context.checkpointEvery ?? ctx.config.checkpoint_every, 1000);
    const delayMs = nonNegativeInt(ctx.context.itemDelayMs, 0);
    const resumedFrom = typeof ctx.checkpoint?.cursor === 'number' ? ctx.checkpoint.cursor : start;
    let sum = Number(ctx.checkpoint?.accumulatedResults?.sum ?? 0);
    for (let item = resumedFrom; item < end; item++) {
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal });
      sum += item;
      const done = item + 1 - start;
      if (done % every === 0 && item + 1 < end) {
        return checkpointYield({
          cursor: item + 1,
          itemsProcessed: done,
          accumulatedResults: { sum },
        });
      }
    }
    return { sum, count: end - start, resumedFrom };
  }),

  // Convergence: the workers' sums and counts together.
  defineHandler('examples.total', (ctx) => {
    const parts = Object.values(ctx.dependencyResults) as { sum?: number; count?: number }[];
    return {
      sum: parts.reduce((a, p) => a + (p.sum ?? 0), 0),
      count: parts.reduce((a, p) => a + (p.count ?? 0), 0),
      workers: parts.length,
    };
  }),
];
