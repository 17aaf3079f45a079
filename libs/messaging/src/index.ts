export * from './pgmq/pgmq.message-bus.js';
export * from './queue-consumer.js';
export * from './messaging.module.js';
export * from './parse-or-dead-letter.js';
