import { decisionResult, StepHandler, type StepHandlerClass } from './handlers.js';
import { BatchableStepHandler, type BatchWorkerContext } from './handlers.js';
import { ErrorType, StepHandlerResult } from './result.js';
import type { StepContext } from './step-context.js';

/**
 * Tasker Core's functional handler style: `defineHandler(name, { depends, inputs }, fn)` and
 * its decision and batch variants make handler classes; `fn` gets the parents' results and the
 * task's inputs it names as arguments, returns a plain object (the result), and throws
 * PermanentError or RetryableError to fail.
 */

/** A failure that retrying cannot fix. */
export class PermanentError extends Error {
  readonly retryable = false;
  readonly metadata: Record<string, unknown>;
  constructor(message: string, metadata?: Record<string, unknown>) {
    super(message);
    this.name = 'PermanentError';
    this.metadata = metadata ?? {};
  }
}

/** A failure worth another attempt. */
export class RetryableError extends Error {
  readonly retryable = true;
  readonly metadata: Record<string, unknown>;
  constructor(message: string, metadata?: Record<string, unknown>) {
    super(message);
    this.name = 'RetryableError';
    this.metadata = metadata ?? {};
  }
}

export interface HandlerOptions {
  /** Argument name → parent step whose result it receives. */
  depends?: Record<string, string>;
  /** Argument name → key of the task's context. */
  inputs?: Record<string, string>;
  version?: string;
}

export type HandlerArgs = Record<string, unknown> & { context: StepContext };

type Returned = Record<string, unknown> | StepHandlerResult | undefined | null;

/** A decision a functional decision handler returns. */
export class Decision {
  private constructor(
    readonly type: 'create_steps' | 'no_branches',
    readonly steps: string[],
    readonly reason: string | undefined,
    readonly routingContext: Record<string, unknown>,
  ) {}

  static route(steps: string[], routingContext?: Record<string, unknown>): Decision {
    return new Decision('create_steps', steps, undefined, routingContext ?? {});
  }

  static skip(reason: string, routingContext?: Record<string, unknown>): Decision {
    return new Decision('no_branches', [], reason, routingContext ?? {});
  }
}

/** What a functional batch analyzer returns: how many items, in batches of what size. */
export interface BatchConfig {
  totalItems: number;
  batchSize: number;
  metadata?: Record<string, unknown>;
}

function wrapResult(result: unknown): StepHandlerResult {
  if (result instanceof StepHandlerResult) return result;
  if (result == null) return StepHandlerResult.success({});
  if (typeof result === 'object' && !Array.isArray(result)) {
    return StepHandlerResult.success(result as Record<string, unknown>);
  }
  return StepHandlerResult.success({ result });
}

function wrapError(error: unknown): StepHandlerResult {
  if (error instanceof PermanentError) {
    return StepHandlerResult.failure(
      error.message,
      ErrorType.PERMANENT_ERROR,
      false,
      error.metadata,
    );
  }
  if (error instanceof RetryableError) {
    return StepHandlerResult.failure(
      error.message,
      ErrorType.RETRYABLE_ERROR,
      true,
      error.metadata,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return StepHandlerResult.failure(message, ErrorType.HANDLER_ERROR, true, {
    errorType: error instanceof Error ? error.constructor.name : typeof error,
  });
}

function argsOf(context: StepContext, options: HandlerOptions): HandlerArgs {
  const args: HandlerArgs = { context };
  for (const [arg, step] of Object.entries(options.depends ?? {})) {
    args[arg] = context.getDependencyResult(step);
  }
  for (const [arg, key] of Object.entries(options.inputs ?? {})) args[arg] = context.getInput(key);
  return args;
}

/** A class with the handler's name, whose call runs `body` and turns throws into failures. */
function handlerClass<B extends typeof StepHandler>(
  Base: B,
  name: string,
  options: HandlerOptions,
  body: (
    handler: InstanceType<B>,
    context: StepContext,
    args: HandlerArgs,
  ) => Promise<StepHandlerResult>,
): StepHandlerClass {
  const Handler = class extends (Base as typeof StepHandler) {
    static override handlerName = name;
    static override handlerVersion = options.version ?? '1.0.0';
    async call(context: StepContext): Promise<StepHandlerResult> {
      try {
        return await body(this as InstanceType<B>, context, argsOf(context, options));
      } catch (error: unknown) {
        return wrapError(error);
      }
    }
  };
  Object.defineProperty(Handler, 'name', { value: name });
  return Handler;
}

export function defineHandler(
  name: string,
  options: HandlerOptions,
  fn: (args: HandlerArgs) => Promise<Returned> | Returned,
): StepHandlerClass {
  return handlerClass(StepHandler, name, options, async (_h, _c, args) =>
    wrapResult(await fn(args)),
  );
}

export function defineDecisionHandler(
  name: string,
  options: HandlerOptions,
  fn: (args: HandlerArgs) => Promise<Decision | StepHandlerResult> | Decision | StepHandlerResult,
): StepHandlerClass {
  return handlerClass(StepHandler, name, options, async (handler, _c, args) => {
    const decided = await fn(args);
    if (!(decided instanceof Decision)) return wrapResult(decided);
    const extra: Record<string, unknown> = {};
    if (decided.reason !== undefined) extra.reason = decided.reason;
    if (Object.keys(decided.routingContext).length > 0)
      extra.routing_context = decided.routingContext;
    return decisionResult(handler, decided.type === 'create_steps' ? decided.steps : null, extra);
  });
}

export function defineBatchAnalyzer(
  name: string,
  options: HandlerOptions & { workerTemplate: string },
  fn: (
    args: HandlerArgs,
  ) => Promise<BatchConfig | StepHandlerResult> | BatchConfig | StepHandlerResult,
): StepHandlerClass {
  return handlerClass(BatchableStepHandler, name, options, async (handler, _c, args) => {
    const planned = await fn(args);
    if (planned instanceof StepHandlerResult) return planned;
    const { totalItems, batchSize } = planned;
    if (!(batchSize > 0)) throw new PermanentError('batchSize must be > 0');
    if (totalItems === 0) return handler.noBatchesResult('no items', planned.metadata);
    const configs = handler.createCursorConfigs(totalItems, Math.ceil(totalItems / batchSize));
    return handler.batchSuccess(options.workerTemplate, configs, planned.metadata);
  });
}

export function defineBatchWorker(
  name: string,
  options: HandlerOptions,
  fn: (
    args: HandlerArgs & { batchContext: BatchWorkerContext | null; handler: BatchableStepHandler },
  ) => Promise<Returned> | Returned,
): StepHandlerClass {
  return handlerClass(BatchableStepHandler, name, options, async (handler, context, args) => {
    const noOp = handler.handleNoOpWorker(context);
    if (noOp) return noOp;
    return wrapResult(
      await fn({ ...args, batchContext: handler.getBatchContext(context), handler }),
    );
  });
}
