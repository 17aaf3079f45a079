import {
  checkpointYield,
  defineHandler,
  PermanentStepError,
  RetryableStepError,
  type StepHandlerDefinition,
} from '#core';
import type { StepHandlerClass } from './handlers.js';
import { StepHandlerResult } from './result.js';
import { StepContext } from './step-context.js';

/** Whether `handler` is a Tasker Core handler class rather than one of our definitions. */
export function isTaskerCoreHandler(
  handler: StepHandlerDefinition | StepHandlerClass,
): handler is StepHandlerClass {
  return typeof handler === 'function' && typeof handler.handlerName === 'string';
}

/**
 * A Tasker Core handler class as a handler of this worker, registered under its
 * `handlerName`: one instance serves every run. Its StepHandlerResult becomes what the worker
 * records: a success's `result`, a checkpoint yield's checkpoint, a failure's error (permanent
 * unless `retryable`, its error type as the error class).
 */
export function fromTaskerCoreHandler(HandlerClass: StepHandlerClass): StepHandlerDefinition {
  const name = HandlerClass.handlerName;
  const handler = new HandlerClass();
  return defineHandler(name, async (ctx) => {
    const outcome: unknown = await handler.call(new StepContext(ctx, name));
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
}

/** Our handler definitions as they are, Tasker Core handler classes adapted. */
export function toHandlerDefinitions(
  handlers: readonly (StepHandlerDefinition | StepHandlerClass)[],
): StepHandlerDefinition[] {
  return handlers.map((h) => (isTaskerCoreHandler(h) ? fromTaskerCoreHandler(h) : h));
}
