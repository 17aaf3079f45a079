export * from './queues.js';
export * from './messages.js';
export * from './trace-context.js';
export * from './domain-events.js';
