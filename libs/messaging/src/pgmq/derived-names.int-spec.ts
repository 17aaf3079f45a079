import { randomUUID } from 'node:crypto';
import {
  createEnvelope,
  MAX_NAMESPACE_LENGTH,
  namespaceNameProblem,
  workerQueueName,
} from '#contracts';
import type { MessageBus, ReceivedMessage } from '#core';
import { pollUntil } from '#testing';
import type { MessageBusContractBroker } from '../contract/message-bus.contract.js';
import { pgmqContractBroker } from '../contract/pgmq.contract-broker.js';

/**
 * The namespace length limit that templates are checked against (libs/contracts/src/queues.ts)
 * is PostgreSQL's own: the longest allowed namespace works end to end, one more character is
 * what PostgreSQL refuses.
 */
describe('PGMQ names derived from the longest namespace', () => {
  let broker: MessageBusContractBroker;
  let bus: MessageBus | undefined;

  beforeAll(async () => {
    broker = await pgmqContractBroker('EventDrivenOnly');
  });

  afterAll(async () => {
    await bus?.close();
    await broker.teardown();
  });

  function stepMessage(namespace: string) {
    const uuid = randomUUID();
    return createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: 'longest', namespace },
      { correlationId: uuid },
    );
  }

  it('delivers by notification on the queue of the longest allowed namespace', async () => {
    const namespace = `n${randomUUID().replaceAll('-', '')}`.slice(0, MAX_NAMESPACE_LENGTH);
    expect(namespaceNameProblem(namespace)).toBeNull();
    const queue = workerQueueName(namespace);
    bus = broker.bus();
    await bus.ensureQueue(queue);
    const got: ReceivedMessage[] = [];
    await bus.subscribe(
      [queue],
      async (m) => {
        got.push(m);
        await bus!.ack(m);
      },
      { prefetch: 1, visibilityTimeoutMs: 30000 },
    );
    const sent = stepMessage(namespace);
    await bus.send(queue, sent);
    await pollUntil(
      () => Promise.resolve(got.length),
      (n) => n === 1,
      { description: 'the notified delivery' },
    );
    expect(got[0]!.body).toEqual(sent);
  });

  it('cannot send one character longer: PostgreSQL refuses the notify channel', async () => {
    const namespace = 'n'.repeat(MAX_NAMESPACE_LENGTH + 1);
    expect(namespaceNameProblem(namespace)).toMatch(/notify channel/);
    const queue = workerQueueName(namespace);
    bus ??= broker.bus();
    // pgmq takes the queue itself; what fails is every send's notification.
    await bus.ensureQueue(queue);
    await expect(bus.send(queue, stepMessage(namespace))).rejects.toThrow(/channel name too long/);
  });
});
