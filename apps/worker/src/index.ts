// `tasker/worker`: what a worker service of your own needs. Write handlers with defineHandler,
// throw the step errors to choose retry or not, and serve them with runWorker (the same entry
// point apps/worker/src/main.ts runs with the example handlers).
export { runWorker } from './bootstrap/run-worker.js';
export { defineHandler, PermanentStepError, RetryableStepError } from '#core';
export type { StepHandlerContext, StepHandlerDefinition, StepHandlerFn } from '#core';
