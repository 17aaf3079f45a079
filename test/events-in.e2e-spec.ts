import { defineHandler } from '#core';
import { pollUntil } from '#testing';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Events in: POST /v1/events starts a task of every template that lists the event under
 * `triggers`, and a domain event a step publishes does the same, down to a depth limit.
 */
const FULFIL = `
namespace: shop
name: fulfil_order
version: 1.0.0
triggers: [order.placed]
input_schema:
  type: object
  required: [orderId]
  properties: { orderId: { type: string } }
steps:
  - name: fulfil
    handler: shop.fulfil
`;

const NOTIFY = `
namespace: crm
name: notify_customer
version: 1.0.0
identity_strategy: strict
triggers: [order.placed]
steps:
  - name: notify
    handler: crm.notify
`;

/** Each task publishes the event that starts the next one: a cycle the depth limit ends. */
const ECHO = `
name: echo
namespace_name: loop
version: 1.0.0
triggers: [loop.ping]
input_schema: { type: object }
steps:
  - name: echo
    handler: { callable: loop.echo }
    publishes_events:
      - name: loop.ping
        condition: success
`;

const HANDLERS = [
  defineHandler('shop.fulfil', (ctx) => ({
    fulfilled: (ctx.context as { orderId: string }).orderId,
  })),
  defineHandler('crm.notify', () => ({ sent: true })),
  defineHandler('loop.echo', (ctx) => ({ hop: ((ctx.context as { hop?: number }).hop ?? 0) + 1 })),
];

const MAX_DEPTH = 3;

interface EventReply {
  eventId: string;
  name: string;
  outcome: string;
  depth: number;
  source: string;
  duplicate?: boolean;
  tasks: { taskUuid: string; namespace: string; name: string; version: string }[];
}

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'events in over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: { 'fulfil.yaml': FULFIL, 'notify.yaml': NOTIFY, 'echo.yaml': ECHO },
        env: { TASKER_EVENT_MAX_DEPTH: String(MAX_DEPTH) },
      });
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    const publish = (body: Record<string, unknown>) =>
      tasker.request<EventReply>('POST', '/v1/events', body);

    const rows = async (sql: string, params: unknown[] = []) =>
      (await tasker.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

    it('starts a task of each template that triggers on the event, with the payload as context', async () => {
      const reply = await publish({ name: 'order.placed', payload: { orderId: 'o-1' } });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({
        name: 'order.placed',
        outcome: 'matched',
        source: 'api',
        depth: 0,
        duplicate: false,
      });
      expect(reply.body.tasks.map((t) => `${t.namespace}/${t.name}@${t.version}`).sort()).toEqual([
        'crm/notify_customer@1.0.0',
        'shop/fulfil_order@1.0.0',
      ]);
      for (const { taskUuid } of reply.body.tasks) {
        const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
        expect(task.status).toBe('complete');
        expect(task.context).toEqual({ orderId: 'o-1' });
      }
    });

    it('the same idempotency key twice starts the tasks once and answers the first reception', async () => {
      const body = { name: 'order.placed', payload: { orderId: 'o-2' }, idempotencyKey: 'k-o-2' };
      const first = await publish(body);
      const second = await publish(body);
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body).toMatchObject({ eventId: first.body.eventId, duplicate: true });
      expect(second.body.tasks).toEqual(first.body.tasks);
      expect(
        await rows('SELECT count(*)::int AS n FROM tasker.tasks WHERE trigger_event_uuid = $1', [
          first.body.eventId,
        ]),
      ).toBe(2);
    });

    it('an event no template listens to is accepted and recorded as unmatched', async () => {
      const reply = await publish({ name: 'invoice.sent', payload: { id: 7 } });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({ outcome: 'unmatched', tasks: [] });
      const listed = await tasker.request<{ items: EventReply[] }>(
        'GET',
        '/v1/events?name=invoice.sent',
      );
      expect(listed.body.items.map((e) => e.eventId)).toEqual([reply.body.eventId]);
      const one = await tasker.request<EventReply>('GET', `/v1/events/${reply.body.eventId}`);
      expect(one.body).toMatchObject({ eventId: reply.body.eventId, payload: { id: 7 } });
    });

    it('a payload one template refuses answers 400 and writes nothing, not even for the others', async () => {
      const events = await rows('SELECT count(*)::int AS n FROM tasker.received_events');
      const tasks = await rows('SELECT count(*)::int AS n FROM tasker.tasks');
      const reply = await publish({ name: 'order.placed', payload: { orderId: 42 } });
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).toContain('input_schema of shop/fulfil_order@1.0.0');
      expect(await rows('SELECT count(*)::int AS n FROM tasker.received_events')).toBe(events);
      expect(await rows('SELECT count(*)::int AS n FROM tasker.tasks')).toBe(tasks);
    });

    it.each([
      ['a name without a dot', { name: 'placed', payload: {} }],
      ['a payload that is not an object', { name: 'order.placed', payload: [1] }],
      ['no payload', { name: 'order.placed' }],
    ])('refuses %s with 400', async (_what, body) => {
      const reply = await publish(body);
      expect(reply.status).toBe(400);
    });

    it('a domain event starts the templates that trigger on it, and a cycle stops at the depth limit', async () => {
      const reply = await publish({ name: 'loop.ping', payload: { hop: 0 } });
      expect(reply.body.outcome).toBe('matched');
      const chain = await pollUntil(
        async () =>
          (
            await tasker.request<{ items: EventReply[] }>(
              'GET',
              `/v1/events?name=loop.ping&limit=50`,
            )
          ).body.items.filter((e) => e.depth >= 0),
        (items) => items.some((e) => e.outcome === 'depth_exceeded'),
        { timeoutMs: 30000, description: 'the chain of pings to reach the depth limit' },
      );
      // Depths 0 (the API's) to MAX_DEPTH each started one task; the next one started nothing.
      const ordered = [...chain].sort((a, b) => a.depth - b.depth);
      expect(ordered.map((e) => [e.depth, e.outcome, e.source, e.tasks.length])).toEqual([
        [0, 'matched', 'api', 1],
        ...Array.from({ length: MAX_DEPTH }, (_, i) => [i + 1, 'matched', 'domain_event', 1]),
        [MAX_DEPTH + 1, 'depth_exceeded', 'domain_event', 0],
      ]);
      const last = ordered[MAX_DEPTH]!.tasks[0]!;
      const task = await tasker.waitForStatus(last.taskUuid, ['complete', 'error']);
      expect(task.context).toEqual({ hop: MAX_DEPTH });
    });
  },
);
