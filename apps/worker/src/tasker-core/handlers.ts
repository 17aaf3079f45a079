import type { StepContext } from './step-context.js';
import { ErrorType, StepHandlerResult } from './result.js';

/**
 * Tasker Core's handler classes (its TypeScript worker's `StepHandler`, `DecisionHandler` and
 * `BatchableStepHandler`), written for this worker: a team's classes extend these after
 * changing their import lines only, and register by `handlerName` (the template's
 * `handler.callable`).
 */
export abstract class StepHandler {
  /** The template's `handler.callable` this class serves. */
  static handlerName: string;
  static handlerVersion = '1.0.0';

  /** Tasker Core's handlers are async; a plain result is taken too. */
  abstract call(context: StepContext): Promise<StepHandlerResult> | StepHandlerResult;

  get name(): string {
    const ctor = this.constructor as typeof StepHandler;
    return ctor.handlerName || ctor.name;
  }

  get version(): string {
    return (this.constructor as typeof StepHandler).handlerVersion;
  }

  get capabilities(): string[] {
    return ['process'];
  }

  configSchema(): Record<string, unknown> | null {
    return null;
  }

  protected success(
    result: Record<string, unknown>,
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    return StepHandlerResult.success(result, metadata);
  }

  protected failure(
    message: string,
    errorType: ErrorType | string = ErrorType.HANDLER_ERROR,
    retryable = true,
    metadata?: Record<string, unknown>,
    errorCode?: string,
  ): StepHandlerResult {
    return StepHandlerResult.failure(message, errorType, retryable, metadata, errorCode);
  }

  toString(): string {
    return `${this.constructor.name}(name=${this.name}, version=${this.version})`;
  }
}

/** A handler class as registered: constructible, with its handler name. */
export interface StepHandlerClass {
  handlerName: string;
  handlerVersion?: string;
  new (): StepHandler;
}

export enum DecisionType {
  CREATE_STEPS = 'create_steps',
  NO_BRANCHES = 'no_branches',
}

/** Builds a decision step's result: the `decision_point_outcome` orchestration reads. */
export function decisionResult(
  handler: { name: string; version: string },
  steps: string[] | null,
  extra: Record<string, unknown>,
  metadata?: Record<string, unknown>,
): StepHandlerResult {
  const outcome = steps
    ? { type: DecisionType.CREATE_STEPS, step_names: steps }
    : { type: DecisionType.NO_BRANCHES };
  return StepHandlerResult.success(
    { decision_point_outcome: outcome, ...extra },
    { ...metadata, decision_handler: handler.name, decision_version: handler.version },
  );
}

/** A decision point: its result names the branches to create, or none. */
export abstract class DecisionHandler extends StepHandler {
  override get capabilities(): string[] {
    return ['process', 'decision', 'routing'];
  }

  /** Create these branches (steps the template lists under this decision). */
  protected decisionSuccess(
    steps: string[],
    routingContext?: Record<string, unknown>,
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    const extra =
      routingContext && Object.keys(routingContext).length > 0
        ? { routing_context: routingContext }
        : {};
    return decisionResult(this, steps, extra, metadata);
  }

  /** Create no branch; a convergence step after them runs at once. */
  protected skipBranches(
    reason: string,
    routingContext?: Record<string, unknown>,
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    const extra: Record<string, unknown> = { reason };
    if (routingContext && Object.keys(routingContext).length > 0)
      extra.routing_context = routingContext;
    return decisionResult(this, null, extra, metadata);
  }

  /** The decision could not be made: the step fails (not retried unless asked). */
  protected decisionFailure(
    message: string,
    errorType = 'decision_error',
    retryable = false,
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    return StepHandlerResult.failure(message, errorType, retryable, {
      ...metadata,
      decision_handler: this.name,
      decision_version: this.version,
    });
  }
}

/** One batch's cursor, as Tasker Core's batchable helpers describe it. */
export interface BatchWorkerConfig {
  batch_id: string;
  cursor_start: number;
  cursor_end: number;
  row_count: number;
  worker_index: number;
  total_workers: number;
  metadata?: Record<string, unknown>;
}

/** What a batch worker reads from its inputs, with its checkpoint. */
export interface BatchWorkerContext {
  batchId: string;
  startCursor: unknown;
  endCursor: unknown;
  batchSize: number;
  batchMetadata: Record<string, unknown>;
  isNoOp: boolean;
  checkpoint: Record<string, unknown> | null;
  checkpointCursor: unknown;
  accumulatedResults: Record<string, unknown> | null;
  checkpointItemsProcessed: number;
  hasCheckpoint(): boolean;
}

/** Which case a convergence step after a batch is in, with the workers' results by name. */
export interface BatchAggregationScenario {
  isNoBatches: boolean;
  batchableResult: Record<string, unknown>;
  batchResults: Record<string, Record<string, unknown>>;
  workerCount: number;
}

/** Worker totals in Tasker Core's aggregate shape (items_processed, …, errors). */
export function aggregateBatchResults(
  workerResults: readonly (Record<string, unknown> | null | undefined)[],
  maxErrors = 100,
): Record<string, unknown> {
  const present = workerResults.filter((r): r is Record<string, unknown> => r != null);
  const total = (key: string) => present.reduce((sum, r) => sum + (Number(r[key]) || 0), 0);
  const errors = present.flatMap((r) =>
    Array.isArray(r.errors) ? (r.errors as Record<string, unknown>[]) : [],
  );
  const processed = total('items_processed');
  const succeeded = total('items_succeeded');
  return {
    total_processed: processed,
    total_succeeded: succeeded,
    total_failed: total('items_failed'),
    total_skipped: total('items_skipped'),
    batch_count: present.length,
    success_rate: processed > 0 ? succeeded / processed : 0,
    errors: errors.slice(0, maxErrors),
    error_count: errors.length,
  };
}

/**
 * A batchable step (it returns `batchSuccess` or `noBatchesResult`), a batch worker (it reads
 * `getBatchContext`, answers `handleNoOpWorker` first and may `checkpointYield`), or the
 * convergence after them (`detectAggregationScenario`, `aggregateBatchWorkerResults`).
 */
export abstract class BatchableStepHandler extends StepHandler {
  override get capabilities(): string[] {
    return ['process', 'batchable'];
  }

  /** `workerCount` cursors over `totalItems`, as even as they can be. */
  createCursorConfigs(totalItems: number, workerCount: number): BatchWorkerConfig[] {
    if (workerCount <= 0) throw new Error('workerCount must be > 0');
    const per = Math.ceil(totalItems / workerCount);
    const configs: BatchWorkerConfig[] = [];
    for (let i = 0; i < workerCount && i * per < totalItems; i++) {
      const start = i * per;
      const end = Math.min(totalItems, start + per);
      configs.push({
        batch_id: String(i + 1).padStart(3, '0'),
        cursor_start: start,
        cursor_end: end,
        row_count: end - start,
        worker_index: i,
        total_workers: workerCount,
      });
    }
    return configs;
  }

  /** Ask orchestration for one `workerTemplateName` worker per config. */
  batchSuccess(
    workerTemplateName: string,
    batchConfigs: BatchWorkerConfig[],
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    const outcome = {
      type: 'create_batches',
      worker_template_name: workerTemplateName,
      worker_count: batchConfigs.length,
      cursor_configs: batchConfigs.map((c) => ({
        batch_id: c.batch_id,
        start_cursor: c.cursor_start,
        end_cursor: c.cursor_end,
        batch_size: c.row_count,
      })),
      total_items: batchConfigs.reduce((sum, c) => sum + c.row_count, 0),
    };
    return StepHandlerResult.success({ batch_processing_outcome: outcome, ...metadata }, metadata);
  }

  /** Nothing to split: orchestration makes one no-op worker. */
  noBatchesResult(reason?: string, metadata?: Record<string, unknown>): StepHandlerResult {
    return StepHandlerResult.success(
      {
        batch_processing_outcome: { type: 'no_batches' },
        ...metadata,
        ...(reason ? { reason } : {}),
      },
      metadata,
    );
  }

  /** A batch worker's cursor, metadata and checkpoint; null outside a batch worker. */
  getBatchContext(context: StepContext): BatchWorkerContext | null {
    const cursor = context.stepInputs.cursor as Record<string, unknown> | undefined;
    if (!cursor) return null;
    return {
      batchId: typeof cursor.batch_id === 'string' ? cursor.batch_id : '',
      startCursor: cursor.start_cursor,
      endCursor: cursor.end_cursor,
      batchSize: Number(cursor.batch_size ?? 0),
      batchMetadata: (context.stepInputs.batch_metadata as Record<string, unknown>) ?? {},
      isNoOp: context.stepInputs.is_no_op === true,
      checkpoint: context.checkpoint,
      checkpointCursor: context.checkpointCursor,
      accumulatedResults: context.accumulatedResults,
      checkpointItemsProcessed: context.checkpointItemsProcessed,
      hasCheckpoint: () => context.hasCheckpoint(),
    };
  }

  /** The result of a no-op worker (made for no_batches), or null for a real one. */
  handleNoOpWorker(context: StepContext): StepHandlerResult | null {
    if (context.stepInputs.is_no_op !== true) return null;
    const cursor = context.stepInputs.cursor as Record<string, unknown> | undefined;
    return StepHandlerResult.success({
      batch_id: cursor?.batch_id ?? 'no_op',
      no_op: true,
      processed_count: 0,
      message: 'No batches to process',
      processed_at: new Date().toISOString(),
    });
  }

  /** Save progress and run again from it, without spending a retry attempt. */
  checkpointYield(
    cursor: number | string | Record<string, unknown>,
    itemsProcessed: number,
    accumulatedResults?: Record<string, unknown>,
  ): StepHandlerResult {
    return StepHandlerResult.success(
      {
        type: 'checkpoint_yield',
        cursor,
        items_processed: itemsProcessed,
        ...(accumulatedResults !== undefined ? { accumulated_results: accumulatedResults } : {}),
      },
      { checkpoint_yield: true, batch_worker: true },
    );
  }

  /**
   * For the convergence step: the workers' results (parents named `batchWorkerPrefix…`), and
   * whether the batch was empty (the batchable step said no_batches, or only its no-op worker
   * ran).
   */
  detectAggregationScenario(
    dependencyResults: Record<string, unknown>,
    batchableStepName: string,
    batchWorkerPrefix: string,
  ): BatchAggregationScenario {
    const unwrap = (value: unknown): Record<string, unknown> =>
      typeof value === 'object' && value !== null && 'result' in value
        ? ((value as { result: Record<string, unknown> }).result ?? {})
        : ((value as Record<string, unknown>) ?? {});
    const batchableResult = unwrap(dependencyResults[batchableStepName]);
    const batchResults = Object.fromEntries(
      Object.entries(dependencyResults)
        .filter(([name]) => name.startsWith(batchWorkerPrefix))
        .map(([name, value]) => [name, unwrap(value)]),
    );
    const workers = Object.values(batchResults);
    const declaredEmpty =
      (batchableResult.batch_processing_outcome as { type?: string } | undefined)?.type ===
      'no_batches';
    const isNoBatches =
      declaredEmpty || (workers.length > 0 && workers.every((w) => w.no_op === true));
    if (!isNoBatches && workers.length === 0) {
      throw new Error(
        `no batch workers named '${batchWorkerPrefix}…' among the dependencies, and '${batchableStepName}' did not return no_batches`,
      );
    }
    return {
      isNoBatches,
      batchableResult,
      batchResults: isNoBatches ? {} : batchResults,
      workerCount: isNoBatches ? 0 : workers.length,
    };
  }

  noBatchesAggregationResult(zeroMetrics?: Record<string, unknown>): StepHandlerResult {
    return StepHandlerResult.success({ worker_count: 0, scenario: 'no_batches', ...zeroMetrics });
  }

  aggregateBatchWorkerResults(
    scenario: BatchAggregationScenario,
    zeroMetrics?: Record<string, unknown>,
    aggregationFn?: (
      batchResults: Record<string, Record<string, unknown>>,
    ) => Record<string, unknown>,
  ): StepHandlerResult {
    if (scenario.isNoBatches) return this.noBatchesAggregationResult(zeroMetrics);
    const aggregated = aggregationFn
      ? aggregationFn(scenario.batchResults)
      : { batch_results: scenario.batchResults };
    return StepHandlerResult.success({
      ...aggregated,
      worker_count: scenario.workerCount,
      scenario: 'with_batches',
    });
  }

  static aggregateWorkerResults(
    workerResults: (Record<string, unknown> | null)[],
    maxErrors = 100,
  ): Record<string, unknown> {
    return aggregateBatchResults(workerResults, maxErrors);
  }
}
