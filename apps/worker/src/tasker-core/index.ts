// `tasker/tasker-core`: Tasker Core's TypeScript handler API on this worker. A team's handler
// classes and functional handlers run after changing only their import lines to this module;
// pass them to `runWorker` (from `tasker/worker`) beside our own handler definitions.
export {
  ErrorType,
  isStandardErrorType,
  isTypicallyRetryable,
  StepHandlerResult,
} from './result.js';
export type { StepHandlerResultParams } from './result.js';
export { StepContext } from './step-context.js';
export {
  aggregateBatchResults,
  BatchableStepHandler,
  DecisionHandler,
  DecisionType,
  StepHandler,
} from './handlers.js';
export type {
  BatchAggregationScenario,
  BatchWorkerConfig,
  BatchWorkerContext,
  StepHandlerClass,
} from './handlers.js';
export {
  Decision,
  defineBatchAnalyzer,
  defineBatchWorker,
  defineDecisionHandler,
  defineHandler,
  PermanentError,
  RetryableError,
} from './functional.js';
export type { BatchConfig, HandlerArgs, HandlerOptions } from './functional.js';
export { fromTaskerCoreHandler } from './adapter.js';
