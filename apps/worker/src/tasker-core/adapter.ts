import {
  checkpointYield,
  defineHandler,
  PermanentStepError,
  RetryableStepError,
  type StepHandlerDefinition,
} from '#core';
import {
  BatchableStepHandler,
  DecisionHandler,
  StepHandler,
  type StepHandlerClass,
} from './handlers.js';
import { StepHandlerResult } from './result.js';
import { StepContext } from './step-context.js';

/** The helpers of the base classes: not methods a template may dispatch to. */
const BASE_MEMBERS: readonly object[] = [
  StepHandler.prototype,
  DecisionHandler.prototype,
  BatchableStepHandler.prototype,
];

/** Whether `handler` is a Tasker Core handler class rather than one of our definitions. */
export function isTaskerCoreHandler(
  handler: StepHandlerDefinition | StepHandlerClass,
): handler is StepHandlerClass {
  return typeof handler === 'function' && typeof handler.handlerName === 'string';
}

/**
 * A Tasker Core handler class as a handler of this worker, registered under its
 * `handlerName`: one instance serves every run, calling `call`, or the method a template's
 * `handler.method` names (method dispatch). Its StepHandlerResult becomes what the worker
 * records: a success's `result`, a checkpoint yield's checkpoint, a failure's error (permanent
 * unless `retryable`, its error type as the error class).
 */
export function fromTaskerCoreHandler(HandlerClass: StepHandlerClass): StepHandlerDefinition {
  const name = HandlerClass.handlerName;
  const handler = new HandlerClass();
  const methodOf = (method: string): unknown =>
    method === 'call' || method === 'constructor' || BASE_MEMBERS.some((base) => method in base)
      ? undefined
      : (handler as unknown as Record<string, unknown>)[method];
  const definition = defineHandler(name, async (ctx) => {
    const method = ctx.handlerMethod ? methodOf(ctx.handlerMethod) : undefined;
    const context = new StepContext(ctx, name);
    const outcome: unknown = await (typeof method === 'function'
      ? (method as (c: StepContext) => unknown).call(handler, context)
      : handler.call(context));
    if (!(outcome instanceof StepHandlerResult)) {
      throw new PermanentStepError(
        `handler ${name} returned ${outcome === null ? 'null' : typeof outcome}, not a StepHandlerResult (use this.success or this.failure)`,
      );
    }
    const result = outcome.result ?? {};
    if (outcome.success && outcome.metadata.checkpoint_yield === true) {
      return checkpointYield({
        cursor: result.cursor,
        itemsProcessed: Number(result.items_processed ?? 0),
        accumulatedResults: result.accumulated_results as Record<string, unknown> | undefined,
      });
    }
    if (outcome.success) return result;
    const message = [outcome.errorMessage ?? 'handler failed', outcome.errorCode]
      .filter(Boolean)
      .join(' ');
    const error = outcome.retryable
      ? new RetryableStepError(message)
      : new PermanentStepError(message);
    error.name = outcome.errorType ?? 'handler_error';
    throw error;
  });
  // Tasker Core's method dispatch: `handler.method` names another method of the class.
  return { ...definition, hasMethod: (method) => typeof methodOf(method) === 'function' };
}

/** Our handler definitions as they are, Tasker Core handler classes adapted. */
export function toHandlerDefinitions(
  handlers: readonly (StepHandlerDefinition | StepHandlerClass)[],
): StepHandlerDefinition[] {
  return handlers.map((h) => (isTaskerCoreHandler(h) ? fromTaskerCoreHandler(h) : h));
}
