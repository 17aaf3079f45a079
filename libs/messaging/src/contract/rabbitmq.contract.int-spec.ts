import { amqpDomainEventConsumer, createTestVhost } from '#testing';
import { RabbitMqMessageBus } from '../rabbitmq/rabbitmq.message-bus.js';
import { describeMessageBusContract } from './message-bus.contract.js';

// A fresh vhost for the file; each bus has its own connection, as separate processes would.
describeMessageBusContract('rabbitmq', async () => {
  const vhost = await createTestVhost();
  return {
    bus: () =>
      new RabbitMqMessageBus({
        url: vhost.url,
        reconnectInitialMs: 100,
        reconnectMaxMs: 1000,
        operationTimeoutMs: 10000,
      }),
    teardown: () => vhost.drop(),
    // A plain amqplib consumer: its own queue, bound to the exchange for every event name.
    tapDomainEvents: () => amqpDomainEventConsumer(vhost.url),
  };
});
