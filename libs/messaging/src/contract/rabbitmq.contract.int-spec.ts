import amqp from 'amqplib';
import { DOMAIN_EVENTS_EXCHANGE, type DomainEvent } from '#contracts';
import { createTestVhost } from '#testing';
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
    tapDomainEvents: async () => {
      const connection = await amqp.connect(vhost.url);
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, DOMAIN_EVENTS_EXCHANGE, '#');
      const received: DomainEvent[] = [];
      await channel.consume(queue, (message) => {
        if (!message) return;
        received.push(JSON.parse(message.content.toString()) as DomainEvent);
        channel.ack(message);
      });
      return { received, close: () => connection.close() };
    },
  };
});
