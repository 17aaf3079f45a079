import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, type MicroserviceOptions, Payload } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import type { MessageEnvelope, MessageType } from '#contracts';
import { createEnvelope, deadLetterQueueName } from '#contracts';
import { pollUntil } from '#testing';
import { InMemoryMessageBus } from '../memory/in-memory.message-bus.js';
import { TaskerContext } from './tasker.context.js';
import { TaskerExceptionFilter } from './tasker-exception.filter.js';
import { failureRedeliveryMs, TASKER_TRANSPORT, TaskerTransport } from './tasker.transport.js';

const QUEUE = 'worker_transport_spec_queue';

/** What the test handler should do with the next step.execute message, by step name. */
const behaviour = new Map<string, (context: TaskerContext) => void>();
const handled: string[] = [];
const deadLettered: string[] = [];
const MAX_DELIVERIES = 3;

@Controller()
class StepController {
  @EventPattern<MessageType>('step.execute.v1', TASKER_TRANSPORT)
  execute(
    @Payload() envelope: MessageEnvelope<'step.execute.v1'>,
    @Ctx() context: TaskerContext,
  ): Promise<void> {
    handled.push(envelope.payload.stepName);
    behaviour.get(envelope.payload.stepName)?.(context);
    return Promise.resolve();
  }
}

@Module({ controllers: [StepController] })
class SpecModule {}

function stepMessage(stepName: string) {
  const uuid = '01900000-0000-7000-8000-000000000001';
  return createEnvelope(
    'step.execute.v1',
    { taskUuid: uuid, stepUuid: uuid, stepName, namespace: 'spec' },
    { correlationId: uuid },
  );
}

describe('TaskerTransport', () => {
  let bus: InMemoryMessageBus;
  let app: INestMicroservice;

  beforeEach(async () => {
    behaviour.clear();
    handled.length = 0;
    deadLettered.length = 0;
    bus = new InMemoryMessageBus({ pollIntervalMs: 5 });
    app = await startTransport();
  });

  async function startTransport(): Promise<INestMicroservice> {
    const started = await NestFactory.createMicroservice<MicroserviceOptions>(SpecModule, {
      strategy: new TaskerTransport(bus, {
        queues: [QUEUE],
        prefetch: 4,
        visibilityTimeoutMs: 60000,
        shutdownGraceMs: 1000,
        maxDeliveries: MAX_DELIVERIES,
        onDeadLetter: (queue) => deadLettered.push(queue),
      }),
      logger: false,
    });
    started.useGlobalFilters(new TaskerExceptionFilter());
    await started.listen();
    return started;
  }

  afterEach(async () => {
    await app.close();
  });

  const depth = (queue: string) => bus.depth(queue);

  it('acks a message once its handler resolved', async () => {
    await bus.send(QUEUE, stepMessage('ok'));
    await pollUntil(
      () => depth(QUEUE),
      (n) => n === 0,
      { description: 'the ack' },
    );
    expect(handled).toEqual(['ok']);
  });

  it('leaves a message its handler consumed in its own transaction unacked', async () => {
    behaviour.set('consumed', (context) => context.consumedInTransaction());
    await bus.send(QUEUE, stepMessage('consumed'));
    await bus.send(QUEUE, stepMessage('ok'));
    await pollUntil(
      () => depth(QUEUE),
      (n) => n === 1,
      { description: 'the ack of the other message' },
    );
    expect(handled.sort()).toEqual(['consumed', 'ok']);
    // Unacked, it stays in the (in-memory) queue until its visibility timeout: on PGMQ the
    // handler's statement deleted it.
    expect(await depth(QUEUE)).toBe(1);
  });

  it('dead-letters a malformed envelope without calling any handler', async () => {
    await bus.send(QUEUE, { type: 'step.execute.v1', payload: {} } as never);
    await pollUntil(
      () => depth(deadLetterQueueName(QUEUE)),
      (n) => n === 1,
      {
        description: 'the dead letter',
      },
    );
    expect(await depth(QUEUE)).toBe(0);
    expect(handled).toEqual([]);
  });

  it('dead-letters a valid message of a type no handler here takes', async () => {
    const uuid = '01900000-0000-7000-8000-000000000002';
    await bus.send(
      QUEUE,
      createEnvelope(
        'step.result.v1',
        { taskUuid: uuid, stepUuid: uuid, attempt: 1, outcome: 'success' },
        { correlationId: uuid },
      ),
    );
    await pollUntil(
      () => depth(deadLetterQueueName(QUEUE)),
      (n) => n === 1,
      {
        description: 'the dead letter',
      },
    );
  });

  it('redelivers when the handler asks for it, and dead-letters when it says so', async () => {
    behaviour.set('later', (context) => context.redeliverAfter(150));
    behaviour.set('never', (context) => context.deadLetter('cannot be processed'));
    await bus.send(QUEUE, stepMessage('later'));
    await bus.send(QUEUE, stepMessage('never'));
    await pollUntil(
      () => Promise.resolve(handled.filter((n) => n === 'later').length),
      (n) => n >= 2,
      {
        description: 'the redelivery',
      },
    );
    expect(handled.filter((n) => n === 'never')).toEqual(['never']);
    expect(await depth(deadLetterQueueName(QUEUE))).toBe(1);
  });

  it('nacks with backoff when the handler throws, so the message comes back later', async () => {
    let calls = 0;
    behaviour.set('boom', () => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
    });
    const started = Date.now();
    await bus.send(QUEUE, stepMessage('boom'));
    await pollUntil(
      () => depth(QUEUE),
      (n) => n === 0,
      { description: 'the eventual ack', timeoutMs: 5000 },
    );
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(failureRedeliveryMs(1));
  });

  it('dead-letters a message whose handler failed on every one of the maximum deliveries', async () => {
    let calls = 0;
    behaviour.set('poison', () => {
      calls += 1;
      throw new Error(`invalid input syntax for type uuid (call ${calls})`);
    });
    await bus.send(QUEUE, stepMessage('poison'));
    const [dead] = await pollUntil(
      () => bus.receive(deadLetterQueueName(QUEUE), { maxMessages: 1, visibilityTimeoutMs: 0 }),
      (got) => got.length === 1,
      { description: 'the dead letter', timeoutMs: 10000 },
    );
    expect((dead!.body as MessageEnvelope).payload).toMatchObject({ stepName: 'poison' });
    expect(bus.deadLetterReasonOf(dead!)).toBe(
      'failed on each of its 3 deliveries (TASKER_MAX_DELIVERIES); last error: ' +
        'invalid input syntax for type uuid (call 3)',
    );
    expect(calls).toBe(MAX_DELIVERIES);
    expect(deadLettered).toEqual([QUEUE]);
    expect(await depth(QUEUE)).toBe(0);
  });

  it('dead-letters a message delivered more than the maximum times without being settled', async () => {
    await app.close();
    const sent = stepMessage('orphan');
    await bus.send(QUEUE, sent);
    // Taken and never settled by consumers that were lost, up to the cap, before ours gets it.
    for (let i = 0; i < MAX_DELIVERIES; i++) {
      expect(await bus.receive(QUEUE, { maxMessages: 1, visibilityTimeoutMs: 0 })).toHaveLength(1);
    }
    app = await startTransport();
    const [dead] = await pollUntil(
      () => bus.receive(deadLetterQueueName(QUEUE), { maxMessages: 1, visibilityTimeoutMs: 0 }),
      (got) => got.length === 1,
      { description: 'the dead letter' },
    );
    expect(dead!.body).toEqual(sent);
    expect(bus.deadLetterReasonOf(dead!)).toBe(
      'delivered 4 times, more than TASKER_MAX_DELIVERIES (3), without being settled',
    );
    expect(handled).toEqual([]);
    expect(deadLettered).toEqual([QUEUE]);
  });

  it('backs off exponentially up to a minute', () => {
    expect([1, 2, 3, 10].map(failureRedeliveryMs)).toEqual([1000, 2000, 4000, 60000]);
  });
});
