export * from './queues.js';
export * from './messages.js';
export * from './trace-context.js';
