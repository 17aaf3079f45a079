import { createTestVhost } from '#testing';
import { RabbitMqMessageBus } from '../rabbitmq/rabbitmq.message-bus.js';
import { describeMessageBusContract } from './message-bus.contract.js';

describeMessageBusContract('rabbitmq', async () => {
  const vhost = await createTestVhost();
  return {
    // Each bus has its own connection, as separate processes would.
    connect: () =>
      new RabbitMqMessageBus({
        url: vhost.url,
        reconnectInitialMs: 100,
        reconnectMaxMs: 1000,
        operationTimeoutMs: 10000,
      }),
    teardown: () => vhost.drop(),
  };
});
