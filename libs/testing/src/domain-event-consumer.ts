import amqp from 'amqplib';
import { DOMAIN_EVENTS_EXCHANGE, type DomainEvent } from '#contracts';

/** What an outside consumer of domain events received so far. */
export interface DomainEventConsumer {
  readonly received: DomainEvent[];
  close(): Promise<void>;
}

/**
 * A consumer as a service outside Tasker would write it with plain amqplib: its own exclusive
 * queue bound to the topic exchange for `bindingKey` (`#`: every event), acking each event.
 */
export async function amqpDomainEventConsumer(
  url: string,
  bindingKey = '#',
): Promise<DomainEventConsumer> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, DOMAIN_EVENTS_EXCHANGE, bindingKey);
  const received: DomainEvent[] = [];
  await channel.consume(queue, (message) => {
    if (!message) return;
    received.push(JSON.parse(message.content.toString()) as DomainEvent);
    channel.ack(message);
  });
  return { received, close: () => connection.close() };
}
