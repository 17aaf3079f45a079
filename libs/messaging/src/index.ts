export * from './pgmq/pgmq.message-bus.js';
export * from './queue-consumer.js';
export * from './messaging.module.js';
