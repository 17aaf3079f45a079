import { setTimeout as sleep } from 'node:timers/promises';
import type { StepHandlerContext, StepHandlerDefinition } from '#core';
import { defineHandler, PermanentStepError, RetryableStepError } from '#core';
import { fromTaskerCoreHandler } from '../tasker-core/adapter.js';
import { BATCH_SUM_HANDLERS } from './batch-sum.handlers.js';

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

/**
 * Handlers for the templates in config/tasks/examples. `sleep` and `flaky` take their behaviour
 * from the task context (`sleep` also from its step's inputs or handler config), so timeouts,
 * retries and permanent failures can be driven over HTTP. batch_sum's handlers are Tasker Core
 * handler classes (batch-sum.handlers.ts), adapted to serve beside ours.
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

  ...BATCH_SUM_HANDLERS.map(fromTaskerCoreHandler),
];
