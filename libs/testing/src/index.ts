export * from './test-database.js';
export * from './poll-until.js';
export * from './test-vhost.js';
export * from './task-rows.js';
export * from './one-off.js';
export * from './template-steps.js';
export * from './domain-event-consumer.js';
