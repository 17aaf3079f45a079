/** What a worker's step handler receives (ARCHITECTURE §4). */
export interface StepHandlerContext<TContext = Record<string, unknown>> {
  taskUuid: string;
  stepUuid: string;
  stepName: string;
  /** The task's context, as submitted. */
  context: TContext;
  /** Static inputs of the step, from the template. */
  inputs: Record<string, unknown>;
  /**
   * The handler's configuration from the template: a Tasker Core template's
   * `handler.initialization`, with the overrides of orchestration's TASKER_ENV applied.
   */
  config: Record<string, unknown>;
  /** Results of this step's direct dependencies, by step name. */
  dependencyResults: Record<string, unknown>;
  /**
   * The method of a handler class the template's `handler.method` names, when not `call`
   * (Tasker Core's method dispatch; only handler classes from tasker/tasker-core dispatch).
   */
  handlerMethod?: string | null;
  /** 1 for the first run. */
  attempt: number;
  /** Runs the step may have, the first included (its retry policy's max_attempts). */
  maxAttempts: number;
  /** The task's correlation id, which every message of the task carries. */
  correlationId: string;
  /** Aborted when the step's timeout passes or the worker shuts down. */
  signal: AbortSignal;
  /** The task's W3C traceparent, to continue its trace in calls the handler makes. */
  traceparent: string | null;
  /**
   * Where an earlier run of this step got to (checkpointYield), kept across yields and retries;
   * null when none saved one.
   */
  checkpoint: StepCheckpoint | null;
}

/** A step's saved progress: where to resume, how far it got, what it gathered so far. */
export interface StepCheckpoint {
  cursor: unknown;
  itemsProcessed: number;
  accumulatedResults: Record<string, unknown> | null;
  /** When it was saved (ISO 8601). */
  savedAt: string;
}

/**
 * Returned by a handler (`return checkpointYield(...)`): save this progress and run the step
 * again from it, without spending a retry attempt. The run ends here; the next one gets the
 * checkpoint as `ctx.checkpoint`, as does a retry after a crash.
 */
export class CheckpointYield {
  constructor(
    readonly cursor: unknown,
    readonly itemsProcessed: number,
    readonly accumulatedResults: Record<string, unknown> | null = null,
  ) {}
}

export function checkpointYield(progress: {
  cursor: unknown;
  itemsProcessed: number;
  accumulatedResults?: Record<string, unknown>;
}): CheckpointYield {
  if (progress.cursor === undefined) throw new Error('checkpointYield needs a cursor');
  if (!Number.isInteger(progress.itemsProcessed) || progress.itemsProcessed < 0) {
    throw new Error('checkpointYield needs itemsProcessed, a whole number of items');
  }
  return new CheckpointYield(
    progress.cursor,
    progress.itemsProcessed,
    progress.accumulatedResults ?? null,
  );
}

/** Returns (or resolves to) the step's result, stored as JSON. */
export type StepHandlerFn = (ctx: StepHandlerContext) => unknown;

/**
 * A step's result with the payloads of the domain events it publishes on success, by event
 * name (`withEventPayloads`): an event not named here carries the result itself.
 */
export class ResultWithEventPayloads {
  constructor(
    readonly result: unknown,
    readonly eventPayloads: Readonly<Record<string, unknown>>,
  ) {}
}

/**
 * Returned by a handler: `result` is the step's result, and each event its template declares
 * for success publishes the payload given here under its name instead of the result.
 */
export function withEventPayloads(
  result: unknown,
  payloads: Record<string, unknown>,
): ResultWithEventPayloads {
  if (typeof payloads !== 'object' || payloads === null || Array.isArray(payloads)) {
    throw new Error('withEventPayloads needs an object of payloads by event name');
  }
  return new ResultWithEventPayloads(result, { ...payloads });
}

export interface StepHandlerDefinition {
  name: string;
  run: StepHandlerFn;
  /** Whether `run` can call this method (ctx.handlerMethod); absent: only its own function. */
  hasMethod?: (method: string) => boolean;
}

export function defineHandler(name: string, run: StepHandlerFn): StepHandlerDefinition {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
    throw new Error(`handler name "${name}" may only contain letters, digits and _ . : -`);
  }
  return { name, run };
}

/** Thrown by a handler when retrying cannot help (bad input, a 4xx from a dependency...). */
export class PermanentStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentStepError';
  }
}

/** Thrown by a handler to ask for a retry after a specific delay (e.g. a Retry-After header). */
export class RetryableStepError extends Error {
  constructor(
    message: string,
    readonly backoffHintMs?: number,
  ) {
    super(message);
    this.name = 'RetryableStepError';
  }
}

/** How a failed run is recorded on the step, for orchestration to decide retry vs error. */
export interface StepFailure {
  message: string;
  errorClass: string;
  permanent: boolean;
  backoffHintMs: number | null;
  timedOut: boolean;
}

export function describeFailure(err: unknown, timedOut = false): StepFailure {
  if (err instanceof PermanentStepError) {
    return {
      message: err.message,
      errorClass: err.name,
      permanent: true,
      backoffHintMs: null,
      timedOut,
    };
  }
  if (err instanceof RetryableStepError) {
    return {
      message: err.message,
      errorClass: err.name,
      permanent: false,
      backoffHintMs: err.backoffHintMs ?? null,
      timedOut,
    };
  }
  if (err instanceof Error) {
    return {
      message: err.message,
      errorClass: err.name,
      permanent: false,
      backoffHintMs: null,
      timedOut,
    };
  }
  return {
    message: `the handler threw a non-Error value: ${describeThrown(err)}`,
    errorClass: 'NonErrorThrown',
    permanent: false,
    backoffHintMs: null,
    timedOut,
  };
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
