import {
  BatchableStepHandler,
  ErrorType,
  type StepContext,
  type StepHandlerClass,
  type StepHandlerResult,
} from '../tasker-core/index.js';

/**
 * config/tasks/examples/batch_sum.yaml's handlers, written as a team coming from Tasker Core
 * writes them (its TypeScript handler classes, from `tasker/tasker-core`): the sum of the
 * items 0..items-1, split into batches whose workers save a checkpoint every
 * `checkpoint_every` items and resume from it, then added up.
 */

const whole = (value: unknown, fallback: number, min = 0): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min ? value : fallback;

/** Batchable: one worker per batch_size items, or no batches when there are none. */
class PlanBatches extends BatchableStepHandler {
  static override handlerName = 'examples.plan_batches';

  call(context: StepContext): StepHandlerResult {
    const items = whole(context.getInput('items'), 0);
    if (items === 0) return this.noBatchesResult('no items', { total_items: 0 });
    const size = whole(context.getInput('batchSize') ?? context.getConfig('batch_size'), 100, 1);
    const workers = Math.ceil(items / size);
    return this.batchSuccess(
      context.getConfig<string>('worker_template_name') ?? 'sum_batch',
      this.createCursorConfigs(items, workers),
      { total_items: items },
    );
  }
}

/** Batch worker: adds up its items from its checkpoint on (context.itemDelayMs slows each). */
class SumBatch extends BatchableStepHandler {
  static override handlerName = 'examples.sum_batch';

  async call(context: StepContext): Promise<StepHandlerResult> {
    const noOp = this.handleNoOpWorker(context);
    if (noOp) return noOp;
    const batch = this.getBatchContext(context);
    if (!batch || typeof batch.startCursor !== 'number' || typeof batch.endCursor !== 'number') {
      return this.failure(
        'examples.sum_batch runs as a batch worker',
        ErrorType.PERMANENT_ERROR,
        false,
      );
    }
    const { startCursor: start, endCursor: end } = batch;
    const every = whole(
      context.getInput('checkpointEvery') ?? context.getConfig('checkpoint_every'),
      1000,
      1,
    );
    const delayMs = whole(context.getInput('itemDelayMs'), 0);
    const resumedFrom = batch.hasCheckpoint() ? (batch.checkpointCursor as number) : start;
    let sum = Number(batch.accumulatedResults?.sum ?? 0);
    for (let item = resumedFrom; item < end; item++) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      sum += item;
      const done = item + 1 - start;
      if (done % every === 0 && item + 1 < end)
        return this.checkpointYield(item + 1, done, { sum });
    }
    return this.success({ sum, count: end - start, resumedFrom, items_processed: end - start });
  }
}

/** Convergence: the workers' sums and counts together (zero for no batches). */
class Total extends BatchableStepHandler {
  static override handlerName = 'examples.total';

  call(context: StepContext): StepHandlerResult {
    const scenario = this.detectAggregationScenario(
      context.dependencyResults,
      'plan',
      'sum_batch_',
    );
    return this.aggregateBatchWorkerResults(scenario, { sum: 0, count: 0 }, (workers) => {
      const parts = Object.values(workers) as { sum: number; count: number }[];
      return {
        sum: parts.reduce((a, p) => a + p.sum, 0),
        count: parts.reduce((a, p) => a + p.count, 0),
      };
    });
  }
}

export const BATCH_SUM_HANDLERS: readonly StepHandlerClass[] = [PlanBatches, SumBatch, Total];
