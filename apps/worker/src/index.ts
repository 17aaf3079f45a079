// `tasker/worker`: what a worker service of your own needs. Write handlers with defineHandler,
// throw the step errors to choose retry or not, return checkpointYield to save a batch
// worker's progress or withEventPayloads to choose its success events' payloads, subscribe to
// the fast domain events of the steps this process runs, and serve them with runWorker (the
// same entry point apps/worker/src/main.ts runs with the example handlers).
export { runWorker } from './bootstrap/run-worker.js';
export { type DomainEventSubscriber, subscribe } from './services/fast-events.js';
export type { DomainEvent } from '#contracts';
export {
  checkpointYield,
  CheckpointYield,
  defineHandler,
  PermanentStepError,
  RetryableStepError,
  ResultWithEventPayloads,
  withEventPayloads,
} from '#core';
export type {
  StepCheckpoint,
  StepHandlerContext,
  StepHandlerDefinition,
  StepHandlerFn,
} from '#core';
