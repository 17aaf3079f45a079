import {
  CheckpointYield,
  PermanentStepError,
  RetryableStepError,
  type StepHandlerContext,
} from '#core';
import { fromTaskerCoreHandler } from './adapter.js';
import { BatchableStepHandler, StepHandler } from './handlers.js';
import {
  defineBatchAnalyzer,
  defineDecisionHandler,
  Decision,
  PermanentError,
} from './functional.js';
import { ErrorType, StepHandlerResult } from './result.js';
import { StepContext } from './step-context.js';

function ours(overrides: Partial<StepHandlerContext> = {}): StepHandlerContext {
  return {
    taskUuid: 't',
    stepUuid: 's',
    stepName: 'step',
    context: { amount: 5, empty: null },
    inputs: {},
    config: { region: 'eu' },
    dependencyResults: {
      fetch_user: { user: { id: 7, tags: ['a'] } },
      batch_001: { n: 1 },
      batch_002: { n: 2 },
      other: null,
    },
    attempt: 1,
    maxAttempts: 3,
    correlationId: 'c',
    signal: new AbortController().signal,
    traceparent: null,
    checkpoint: null,
    ...overrides,
  };
}

describe("Tasker Core's StepContext", () => {
  it('reads inputs, config and parents the way Tasker Core handlers do', () => {
    const ctx = new StepContext(ours(), 'H');
    expect(ctx.getInput('amount')).toBe(5);
    expect(ctx.getInputOr('missing', 9)).toBe(9);
    expect(ctx.getInputOr('empty', 9)).toBeNull();
    expect(ctx.getConfig('region')).toBe('eu');
    expect(ctx.dependencyResults.fetch_user).toEqual({ result: { user: { id: 7, tags: ['a'] } } });
    expect(ctx.getDependencyResult('fetch_user')).toEqual({ user: { id: 7, tags: ['a'] } });
    expect(ctx.getDependencyResult('nobody')).toBeNull();
    expect(ctx.getDependencyField('fetch_user', 'user', 'id')).toBe(7);
    expect(ctx.getDependencyField('fetch_user', 'user', 'id', 'deeper')).toBeNull();
    expect(ctx.getAllDependencyResults('batch_')).toEqual([{ n: 1 }, { n: 2 }]);
    expect(ctx.handlerName).toBe('H');
  });

  it('counts retries from the attempt', () => {
    expect(new StepContext(ours(), 'H')).toMatchObject({ retryCount: 0, maxRetries: 3 });
    expect(new StepContext(ours(), 'H').isRetry()).toBe(false);
    const last = new StepContext(ours({ attempt: 3 }), 'H');
    expect([last.isRetry(), last.isLastRetry()]).toEqual([true, true]);
    expect(new StepContext(ours({ attempt: 2 }), 'H').isLastRetry()).toBe(false);
  });

  it('exposes the checkpoint in its accessors', () => {
    const none = new StepContext(ours(), 'H');
    expect([none.hasCheckpoint(), none.checkpointCursor, none.checkpointItemsProcessed]).toEqual([
      false,
      null,
      0,
    ]);
    const saved = new StepContext(
      ours({
        checkpoint: {
          cursor: { page: 3 },
          itemsProcessed: 40,
          accumulatedResults: { total: 12 },
          savedAt: '2026-11-24T10:00:00Z',
        },
      }),
      'H',
    );
    expect(saved.hasCheckpoint()).toBe(true);
    expect(saved.checkpointCursor).toEqual({ page: 3 });
    expect(saved.checkpointItemsProcessed).toBe(40);
    expect(saved.accumulatedResults).toEqual({ total: 12 });
  });
});

describe('fromTaskerCoreHandler', () => {
  const adapt = (call: (ctx: StepContext) => StepHandlerResult, name = 'Some::Handler') =>
    fromTaskerCoreHandler(
      class extends StepHandler {
        static override handlerName = name;
        call = call;
      },
    );

  it("registers the class under its handlerName and records a success's result", async () => {
    const handler = adapt((ctx) => StepHandlerResult.success({ got: ctx.getInput('amount') }));
    expect(handler.name).toBe('Some::Handler');
    expect(await handler.run(ours())).toEqual({ got: 5 });
  });

  it('throws a failure as a permanent or retryable step error named by its error type', async () => {
    const permanent = adapt(() =>
      StepHandlerResult.failure('bad input', ErrorType.VALIDATION_ERROR, false, {}, 'E42'),
    );
    const err = await Promise.resolve(permanent.run(ours())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStepError);
    expect(err).toMatchObject({ name: 'validation_error', message: 'bad input E42' });
    const retryable = adapt(() => StepHandlerResult.failure('busy'));
    const again = await Promise.resolve(retryable.run(ours())).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RetryableStepError);
    expect(again).toMatchObject({ name: 'handler_error' });
  });

  it("turns a checkpoint yield into the worker's checkpoint", async () => {
    const worker = fromTaskerCoreHandler(
      class extends BatchableStepHandler {
        static override handlerName = 'Worker';
        call(): StepHandlerResult {
          return this.checkpointYield(40, 40, { total: 12 });
        }
      },
    );
    expect(await worker.run(ours())).toEqual(new CheckpointYield(40, 40, { total: 12 }));
  });

  it('refuses a call that answers something other than a StepHandlerResult', async () => {
    const sloppy = adapt(() => ({ ok: true }) as unknown as StepHandlerResult);
    await expect(Promise.resolve(sloppy.run(ours()))).rejects.toThrow(
      'handler Some::Handler returned object, not a StepHandlerResult (use this.success or this.failure)',
    );
  });
});

describe('functional handlers', () => {
  it('writes a decision as the decision_point_outcome orchestration reads', async () => {
    const route = fromTaskerCoreHandler(
      defineDecisionHandler('route', {}, () => Decision.route(['a', 'b'], { why: 'x' })),
    );
    expect(await route.run(ours())).toEqual({
      decision_point_outcome: { type: 'create_steps', step_names: ['a', 'b'] },
      routing_context: { why: 'x' },
    });
    const skip = fromTaskerCoreHandler(
      defineDecisionHandler('skip', {}, () => Decision.skip('none')),
    );
    expect(await skip.run(ours())).toEqual({
      decision_point_outcome: { type: 'no_branches' },
      reason: 'none',
    });
  });

  it('splits a batch analyzer into cursors, and fails on PermanentError', async () => {
    const analyze = fromTaskerCoreHandler(
      defineBatchAnalyzer('split', { workerTemplate: 'work' }, () => ({
        totalItems: 10,
        batchSize: 4,
      })),
    );
    expect(await analyze.run(ours())).toEqual({
      batch_processing_outcome: {
        type: 'create_batches',
        worker_template_name: 'work',
        worker_count: 3,
        cursor_configs: [
          { batch_id: '001', start_cursor: 0, end_cursor: 4, batch_size: 4 },
          { batch_id: '002', start_cursor: 4, end_cursor: 8, batch_size: 4 },
          { batch_id: '003', start_cursor: 8, end_cursor: 10, batch_size: 2 },
        ],
        total_items: 10,
      },
    });
    const refusing = fromTaskerCoreHandler(
      defineBatchAnalyzer('refuse', { workerTemplate: 'work' }, () => {
        throw new PermanentError('no file');
      }),
    );
    await expect(Promise.resolve(refusing.run(ours()))).rejects.toMatchObject({
      name: 'permanent_error',
      message: 'no file',
    });
  });
});
