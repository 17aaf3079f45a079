import type { StepHandlerDefinition } from '#core';
import { defineHandler } from '#core';
import { monoMs, reportRun } from '../handler-run.js';

/**
 * The one handler of the benchmark templates (scripts/bench/templates): does no work, so what
 * the bench measures is Tasker's own overhead, and reports when it ran (see handler-run.ts).
 */
export const BENCH_HANDLERS: readonly StepHandlerDefinition[] = [
  defineHandler('bench.stamp', (ctx) => {
    const t0 = monoMs();
    const key = typeof ctx.context.key === 'string' ? ctx.context.key : 'unkeyed';
    reportRun(key, ctx.stepName, t0);
    return { ok: true };
  }),
];
