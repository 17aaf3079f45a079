export * from './pgmq/pgmq.message-bus.js';
export * from './rabbitmq/rabbitmq.message-bus.js';
export * from './memory/in-memory.message-bus.js';
export * from './polling/read-loop.subscription.js';
export * from './messaging.module.js';
export * from './transport/tasker.context.js';
export * from './transport/tasker.transport.js';
export * from './transport/consumed-queues.js';
