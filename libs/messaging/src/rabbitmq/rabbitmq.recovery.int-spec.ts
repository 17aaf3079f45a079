import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { createEnvelope } from '#contracts';
import type { ReceivedMessage } from '#core';
import { createTestVhost, pollUntil, rabbitmqctl, type TestVhost } from '#testing';
import { RabbitMqMessageBus } from './rabbitmq.message-bus.js';

/**
 * Recovery from what RabbitMQ does to clients in production: connections closed by the broker
 * (restart, failover, an operator) and consumers cancelled under them (queue deleted). Each
 * runs in its own vhost, so closing its connections touches nothing else.
 */
describe('RabbitMqMessageBus recovery', () => {
  let vhost: TestVhost;
  let bus: RabbitMqMessageBus;
  /** Settles a handler a test holds open, so a failed test cannot leave close() waiting on it. */
  let releaseHeld: () => void = () => undefined;

  beforeAll(async () => {
    vhost = await createTestVhost();
  });

  afterAll(async () => {
    await vhost?.drop();
  });

  beforeEach(() => {
    bus = new RabbitMqMessageBus({
      url: vhost.url,
      reconnectInitialMs: 50,
      reconnectMaxMs: 500,
      operationTimeoutMs: 10000,
    });
  });

  afterEach(async () => {
    releaseHeld();
    await bus.close();
  });

  const message = (n: number) => {
    const uuid = randomUUID();
    return createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: `s${n}`, namespace: 'recovery' },
      { correlationId: uuid },
    );
  };
  const stepName = (m: ReceivedMessage) => (m.body as ReturnType<typeof message>).payload.stepName;

  it('reconnects after the broker closes the connection, redelivers what was unacked and resumes consuming', async () => {
    const queue = `recovery_${randomUUID()}`;
    await bus.ensureQueue(queue);
    const seen: ReceivedMessage[] = [];
    let holdFirst = true;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    await bus.subscribe(
      [queue],
      async (m) => {
        seen.push(m);
        // The first delivery is never settled before the connection dies.
        if (holdFirst && stepName(m) === 's1') return held;
        await bus.ack(m);
      },
      { prefetch: 5, visibilityTimeoutMs: 30000 },
    );
    await bus.send(queue, message(1));
    await pollUntil(
      () => Promise.resolve(seen.length),
      (n) => n === 1,
      { description: 's1' },
    );

    holdFirst = false;
    const reconnectsBefore = bus.status().reconnects;
    await rabbitmqctl('close_all_connections', '--vhost', vhost.name, 'recovery test');
    // rabbitmqctl returns before the client has read the broker's close, and the bus may be
    // back within 50 ms: wait for it to have noticed the loss rather than racing a ping.
    await pollUntil(
      () => Promise.resolve(bus.status().reconnects),
      (n) => n > reconnectsBefore,
      { description: 'the bus to notice the closed connection' },
    );
    // A send right after the loss waits for the reconnection instead of failing.
    await bus.send(queue, message(2));
    await pollUntil(
      () => Promise.resolve(seen.map(stepName).sort()),
      (names) => names.includes('s2') && names.filter((n) => n === 's1').length === 2,
      { description: 's1 redelivered and s2 delivered after the reconnect' },
    );
    // The handler on the lost link finishes late; settling its delivery now must fail loudly.
    releaseHeld();
    await expect(bus.ack(seen[0]!)).rejects.toThrow(/lost RabbitMQ channel/);
    const redelivered = seen.filter((m) => stepName(m) === 's1')[1];
    expect(redelivered?.deliveryCount).toBeGreaterThanOrEqual(2);
    await bus.ping();
    await pollUntil(
      () => bus.depth(queue),
      (n) => n === 0,
      { description: 'the queue to drain' },
    );
  });

  it('re-declares a queue deleted under its consumer and goes on consuming', async () => {
    const queue = `recovery_${randomUUID()}`;
    await bus.ensureQueue(queue);
    const seen: string[] = [];
    await bus.subscribe(
      [queue],
      async (m) => {
        seen.push(stepName(m));
        await bus.ack(m);
      },
      { prefetch: 5, visibilityTimeoutMs: 30000 },
    );
    const admin = await amqp.connect(vhost.url);
    try {
      const channel = await admin.createChannel();
      await channel.deleteQueue(queue);
    } finally {
      await admin.close();
    }
    await pollUntil(
      async () => {
        await bus.send(queue, message(seen.length + 1)).catch(() => undefined);
        return seen.length;
      },
      (n) => n > 0,
      { description: 'a message sent after the re-declare to be consumed', intervalMs: 200 },
    );
  });

  it('replaces a channel the broker closed and keeps serving', async () => {
    const queue = `recovery_${randomUUID()}`;
    await bus.ensureQueue(queue);
    // basic.get on a missing queue is a channel error: the broker closes that channel.
    await expect(
      bus.receive(`missing_${randomUUID()}`, { maxMessages: 1, visibilityTimeoutMs: 1000 }),
    ).rejects.toThrow(/NOT_FOUND|404/);
    await bus.send(queue, message(1));
    const received = await pollUntil(
      () => bus.receive(queue, { maxMessages: 1, visibilityTimeoutMs: 5000 }),
      (messages) => messages.length === 1,
      { description: 'a receive on the replacement channel' },
    );
    await bus.ack(received[0]!);
    await bus.ping();
  });

  it('fails a send that no queue takes instead of dropping it silently', async () => {
    await expect(bus.send(`missing_${randomUUID()}`, message(1))).rejects.toThrow(/no queue/);
  });
});
