export * from './queues.js';
export * from './messages.js';
