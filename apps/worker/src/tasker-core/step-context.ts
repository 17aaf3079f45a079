import type { StepHandlerContext } from '#core';

/**
 * Tasker Core's `StepContext`, made from our handler context: `inputData` is the task's
 * context, `stepConfig` the template's `handler.initialization`, `stepInputs` the step's inputs
 * (a batch worker's cursor), `retryCount` the runs before this one. Each dependency result is
 * wrapped as Tasker Core stores it (`{ result: … }`), so both `getDependencyResult(name)` and
 * `dependencyResults[name].result` read what the parent's handler returned.
 */
export class StepContext {
  readonly taskUuid: string;
  readonly stepUuid: string;
  readonly stepName: string;
  readonly correlationId: string;
  readonly handlerName: string;
  readonly inputData: Record<string, unknown>;
  readonly dependencyResults: Record<string, { result: unknown }>;
  readonly stepConfig: Record<string, unknown>;
  readonly stepInputs: Record<string, unknown>;
  readonly retryCount: number;
  readonly maxRetries: number;
  /** Aborted when the step's timeout passes or the worker stops. */
  readonly signal: AbortSignal;
  /** The checkpoint an earlier run saved, in Tasker Core's shape; null when none. */
  readonly checkpoint: Record<string, unknown> | null;

  constructor(ctx: StepHandlerContext, handlerName: string) {
    this.taskUuid = ctx.taskUuid;
    this.stepUuid = ctx.stepUuid;
    this.stepName = ctx.stepName;
    this.correlationId = ctx.correlationId;
    this.handlerName = handlerName;
    this.inputData = ctx.context;
    this.dependencyResults = Object.fromEntries(
      Object.entries(ctx.dependencyResults).map(([name, result]) => [name, { result }]),
    );
    this.stepConfig = ctx.config;
    this.stepInputs = ctx.inputs;
    this.retryCount = ctx.attempt - 1;
    this.maxRetries = ctx.maxAttempts;
    this.signal = ctx.signal;
    this.checkpoint = ctx.checkpoint
      ? {
          cursor: ctx.checkpoint.cursor,
          items_processed: ctx.checkpoint.itemsProcessed,
          accumulated_results: ctx.checkpoint.accumulatedResults,
          timestamp: ctx.checkpoint.savedAt,
        }
      : null;
  }

  /** What the parent step's handler returned (null when there is no such parent). */
  getDependencyResult(stepName: string): unknown {
    return this.dependencyResults[stepName]?.result ?? null;
  }

  /** A nested field of a parent's result: getDependencyField('fetch', 'user', 'id'). */
  getDependencyField(stepName: string, ...path: string[]): unknown {
    let value = this.getDependencyResult(stepName);
    for (const key of path) {
      if (typeof value !== 'object' || value === null) return null;
      value = (value as Record<string, unknown>)[key];
    }
    return value ?? null;
  }

  getDependencyResultKeys(): string[] {
    return Object.keys(this.dependencyResults);
  }

  /** The results of the parents whose names start with `prefix` (a batch's workers). */
  getAllDependencyResults(prefix: string): unknown[] {
    return this.getDependencyResultKeys()
      .filter((name) => name.startsWith(prefix))
      .map((name) => this.getDependencyResult(name))
      .filter((result) => result !== null);
  }

  getInput<T = unknown>(key: string): T | undefined {
    return this.inputData[key] as T | undefined;
  }

  getInputOr<T = unknown>(key: string, defaultValue: T): T {
    const value = this.inputData[key];
    return value === undefined ? defaultValue : (value as T);
  }

  getConfig<T = unknown>(key: string): T | undefined {
    return this.stepConfig[key] as T | undefined;
  }

  isRetry(): boolean {
    return this.retryCount > 0;
  }

  isLastRetry(): boolean {
    return this.retryCount >= this.maxRetries - 1;
  }

  get checkpointCursor(): unknown {
    return this.checkpoint?.cursor ?? null;
  }

  get checkpointItemsProcessed(): number {
    return (this.checkpoint?.items_processed as number | undefined) ?? 0;
  }

  get accumulatedResults(): Record<string, unknown> | null {
    return (this.checkpoint?.accumulated_results as Record<string, unknown> | null) ?? null;
  }

  hasCheckpoint(): boolean {
    return this.checkpointCursor !== null;
  }
}
