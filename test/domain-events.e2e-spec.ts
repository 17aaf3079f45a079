import pg from 'pg';
import {
  createEnvelope,
  type DomainEvent,
  domainEventsQueueName,
  ORCHESTRATION_STEP_RESULTS_QUEUE,
} from '#contracts';
import { defineHandler, PermanentStepError, withEventPayloads } from '#core';
import { amqpDomainEventConsumer, type DomainEventConsumer, pollUntil } from '#testing';
import { subscribe } from '../apps/worker/src/index.js';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Steps publish the domain events their template declares (Tasker Core's `publishes_events`),
 * once per step outcome, to consumers outside Tasker that use the broker's own client: a plain
 * pgmq read of `<namespace>_domain_events`, or an amqplib queue bound to the topic exchange.
 */
const ORDER_FLOW = `
name: order_flow
namespace_name: shop
version: 1.0.0
input_schema: { type: object }
steps:
  - name: confirm
    handler: { callable: shop.confirm }
    retry: { retryable: true, max_attempts: 2, backoff: linear, backoff_base_ms: 10, max_backoff_ms: 50 }
    publishes_events:
      - name: order.confirmed
        condition: success
        delivery_mode: durable
        schema:
          type: object
          required: [orderId]
          properties: { orderId: { type: string } }
      - name: order.failed
        condition: permanent_failure
        delivery_mode: broadcast
      - name: order.confirm_retrying
        condition: retryable_failure
      - name: order.confirm_seen_in_process
        condition: always
        delivery_mode: fast
  - name: notify
    handler: { callable: shop.notify }
    dependencies: [confirm]
    publishes_events:
      - name: order.notified
        schema:
          type: object
          required: [channel]
          properties: { channel: { type: string } }
`;

const HANDLERS = [
  defineHandler('shop.confirm', (ctx) => {
    const { orderId, mode } = ctx.context as { orderId: string; mode?: string };
    if (mode === 'fail') throw new PermanentStepError(`order ${orderId} cannot be confirmed`);
    if (mode === 'flaky' && ctx.attempt === 1) throw new Error('payment service timed out');
    return { orderId };
  }),
  defineHandler('shop.notify', (ctx) => {
    const { badChannel, choose } = ctx.context as { badChannel?: boolean; choose?: boolean };
    const result = { channel: badChannel ? 42 : 'email' };
    return choose ? withEventPayloads(result, { 'order.notified': { channel: 'sms' } }) : result;
  }),
];

function pgmqConsumer(databaseUrl: string): DomainEventConsumer {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const received: DomainEvent[] = [];
  let open = true;
  const loop = (async () => {
    while (open) {
      const { rows } = await pool.query<{ msg_id: string; message: DomainEvent }>(
        'SELECT msg_id, message FROM pgmq.read($1, 30, 50)',
        [domainEventsQueueName('shop')],
      );
      for (const row of rows) {
        received.push(row.message);
        await pool.query('SELECT pgmq.delete($1, $2::bigint)', [
          domainEventsQueueName('shop'),
          row.msg_id,
        ]);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    received,
    close: async () => {
      open = false;
      await loop;
      await pool.end();
    },
  };
}

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'domain events out over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;
    let consumer: DomainEventConsumer;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: { 'order_flow.yaml': ORDER_FLOW },
      });
      consumer =
        setup.backend === 'rabbitmq'
          ? await amqpDomainEventConsumer(tasker.vhost!.url, 'order.#')
          : pgmqConsumer(tasker.database.url);
    });

    afterAll(async () => {
      await consumer?.close();
      await tasker?.stop();
    });

    const eventsOf = (taskUuid: string) => consumer.received.filter((e) => e.taskUuid === taskUuid);

    async function traceparentOf(taskUuid: string): Promise<string> {
      const { rows } = await tasker.pool.query<{ traceparent: string }>(
        'SELECT traceparent FROM tasker.tasks WHERE task_uuid = $1',
        [taskUuid],
      );
      return rows[0]!.traceparent;
    }

    async function recorded(taskUuid: string): Promise<{ name: string; published: boolean }[]> {
      const { rows } = await tasker.pool.query<{ name: string; published: boolean }>(
        `SELECT name, published_at IS NOT NULL AS published FROM tasker.domain_events
          WHERE task_uuid = $1 ORDER BY created_at`,
        [taskUuid],
      );
      return rows;
    }

    async function publishedMetric(event: string, outcome: string): Promise<number> {
      const text = await (await fetch(`${tasker.baseUrl}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`tasker_events_published_total{event="${event}",delivery=`) &&
            l.includes(`outcome="${outcome}"`),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    }

    it('a completed task delivers each declared success event once, exactly as declared', async () => {
      const task = await tasker.run('shop', 'order_flow', { orderId: 'o-1' });
      expect(task.status).toBe('complete');
      const events = await pollUntil(
        () => Promise.resolve(eventsOf(task.taskUuid)),
        (list) => list.length >= 2,
        { description: 'both success events to reach the outside consumer' },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(eventsOf(task.taskUuid)).toHaveLength(2);
      const confirm = task.steps.find((s) => s.name === 'confirm')!;
      expect(events.find((e) => e.name === 'order.confirmed')).toEqual({
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
        name: 'order.confirmed',
        outcome: 'success',
        payload: { orderId: 'o-1' },
        namespace: 'shop',
        taskUuid: task.taskUuid,
        stepUuid: confirm.stepUuid,
        stepName: 'confirm',
        correlationId: task.correlationId,
        traceparent: await traceparentOf(task.taskUuid),
        occurredAt: expect.any(String) as string,
      });
      expect(events.find((e) => e.name === 'order.notified')?.payload).toEqual({
        channel: 'email',
      });
      // Neither a failure event nor the in-process (fast) one went through the broker.
      expect(events.map((e) => e.name).sort()).toEqual(['order.confirmed', 'order.notified']);
      expect(await recorded(task.taskUuid)).toEqual([
        { name: 'order.confirmed', published: true },
        { name: 'order.notified', published: true },
      ]);
    });

    it('a failure-only event fires on a permanent failure, not on success; a retry fires its own', async () => {
      const failed = await tasker.run('shop', 'order_flow', { orderId: 'o-2', mode: 'fail' });
      expect(failed.status).toBe('error');
      const [failure] = await pollUntil(
        () => Promise.resolve(eventsOf(failed.taskUuid)),
        (list) => list.length >= 1,
        { description: 'the failure event' },
      );
      expect(failure).toMatchObject({
        name: 'order.failed',
        outcome: 'permanent_failure',
        payload: { error: { message: 'order o-2 cannot be confirmed', permanent: true } },
      });

      const flaky = await tasker.run('shop', 'order_flow', { orderId: 'o-3', mode: 'flaky' });
      expect(flaky.status).toBe('complete');
      await pollUntil(
        () => Promise.resolve(eventsOf(flaky.taskUuid)),
        (list) => list.length >= 3,
        { description: 'the retry, confirm and notify events' },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(
        eventsOf(flaky.taskUuid)
          .map((e) => `${e.name}:${e.outcome}`)
          .sort(),
      ).toEqual([
        'order.confirm_retrying:retryable_failure',
        'order.confirmed:success',
        'order.notified:success',
      ]);
      expect(eventsOf(failed.taskUuid)).toHaveLength(1);
    });

    it('a result delivered again publishes nothing new', async () => {
      const task = await tasker.run('shop', 'order_flow', { orderId: 'o-4' });
      await pollUntil(
        () => Promise.resolve(eventsOf(task.taskUuid)),
        (list) => list.length >= 2,
        { description: 'the events of the first delivery' },
      );
      const bus = tasker.bus();
      for (const step of task.steps) {
        await bus.send(
          ORCHESTRATION_STEP_RESULTS_QUEUE,
          createEnvelope(
            'step.result.v1',
            { taskUuid: task.taskUuid, stepUuid: step.stepUuid, attempt: 1, outcome: 'success' },
            { correlationId: task.correlationId },
          ),
        );
      }
      await pollUntil(
        () => tasker.queueLength(ORCHESTRATION_STEP_RESULTS_QUEUE),
        (n) => n === 0,
        { description: 'the copies to be consumed' },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(eventsOf(task.taskUuid)).toHaveLength(2);
      expect(await recorded(task.taskUuid)).toHaveLength(2);
    });

    it('fast and broadcast events reach in-process subscribers of the worker that ran the step', async () => {
      const seen: DomainEvent[] = [];
      const unsubscribe = subscribe('order.#', (event) => {
        seen.push(event);
      });
      try {
        const failed = await tasker.run('shop', 'order_flow', { orderId: 'o-6', mode: 'fail' });
        const done = await tasker.run('shop', 'order_flow', { orderId: 'o-7' });
        const of = (taskUuid: string) =>
          seen
            .filter((e) => e.taskUuid === taskUuid)
            .map((e) => `${e.name}:${e.outcome}`)
            .sort();
        await pollUntil(
          () => Promise.resolve(of(failed.taskUuid).length + of(done.taskUuid).length),
          (n) => n >= 3,
          { description: 'the in-process events' },
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Durable-only declarations stay on the broker; broadcast ones go both ways.
        expect(of(failed.taskUuid)).toEqual([
          'order.confirm_seen_in_process:permanent_failure',
          'order.failed:permanent_failure',
        ]);
        expect(of(done.taskUuid)).toEqual(['order.confirm_seen_in_process:success']);
        expect(seen.find((e) => e.taskUuid === done.taskUuid)).toMatchObject({
          payload: { orderId: 'o-7' },
          namespace: 'shop',
          stepName: 'confirm',
          correlationId: done.correlationId,
        });
      } finally {
        unsubscribe();
      }
    });

    it("a handler chooses an event's payload; its result stays the step's result", async () => {
      const task = await tasker.run('shop', 'order_flow', { orderId: 'o-8', choose: true });
      expect(task.status).toBe('complete');
      const events = await pollUntil(
        () => Promise.resolve(eventsOf(task.taskUuid)),
        (list) => list.length >= 2,
        { description: 'both success events' },
      );
      expect(events.find((e) => e.name === 'order.notified')?.payload).toEqual({ channel: 'sms' });
      // The event it chose nothing for carries the result.
      expect(events.find((e) => e.name === 'order.confirmed')?.payload).toEqual({ orderId: 'o-8' });
      expect(task.steps.find((s) => s.name === 'notify')?.result).toEqual({ channel: 'email' });
    });

    it('a payload that does not match its schema is counted, not published, and the task completes', async () => {
      const before = await publishedMetric('order.notified', 'invalid');
      const task = await tasker.run('shop', 'order_flow', { orderId: 'o-5', badChannel: true });
      expect(task.status).toBe('complete');
      await pollUntil(
        () => Promise.resolve(eventsOf(task.taskUuid)),
        (list) => list.length >= 1,
        { description: 'the valid event' },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(eventsOf(task.taskUuid).map((e) => e.name)).toEqual(['order.confirmed']);
      expect(await publishedMetric('order.notified', 'invalid')).toBe(before + 1);
      expect(await recorded(task.taskUuid)).toEqual([{ name: 'order.confirmed', published: true }]);
    });
  },
);
