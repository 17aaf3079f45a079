import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageEnvelope } from '#contracts';
import {
  createEnvelope,
  deadLetterQueueName,
  type DomainEvent,
  domainEventsQueueName,
} from '#contracts';
import type { MessageBus, ReceivedMessage } from '#core';
import { type DomainEventConsumer, pollUntil } from '#testing';

/** What an adapter's spec file wires: one broker (database, vhost, store) for the whole file. */
export interface MessageBusContractBroker {
  /** A new bus instance on the same broker: another consumer, or another process. */
  bus(): MessageBus;
  /** Releases the broker. Every bus made by `bus()` has been closed by then. */
  teardown(): Promise<void>;
  /**
   * A consumer of `namespace`'s durable domain events as a service outside Tasker would be,
   * with the broker's own means (a queue read, or a queue bound to the exchange).
   */
  tapDomainEvents(namespace: string): Promise<DomainEventConsumer>;
}

/** Brokers whose domain events sit in a queue (PGMQ, in-memory): read and acked with `bus`. */
export function queueDomainEventTap(bus: MessageBus, namespace: string): DomainEventConsumer {
  const received: DomainEvent[] = [];
  let open = true;
  const loop = (async () => {
    while (open) {
      const messages = await bus.receive(domainEventsQueueName(namespace), {
        maxMessages: 10,
        visibilityTimeoutMs: 30000,
      });
      for (const m of messages) {
        received.push(m.body as DomainEvent);
        await bus.ack(m);
      }
      await sleep(20);
    }
  })();
  return {
    received,
    close: async () => {
      open = false;
      await loop;
      await bus.close();
    },
  };
}

type Step = MessageEnvelope<'step.execute.v1'>;

/** A real envelope whose label (stepName) tells the messages of a case apart. */
function envelope(label: string): Step {
  const uuid = randomUUID();
  return createEnvelope(
    'step.execute.v1',
    { taskUuid: uuid, stepUuid: uuid, stepName: label, namespace: 'contract' },
    { correlationId: uuid },
  );
}

const labelOf = (m: ReceivedMessage) => (m.body as Step).payload.stepName;
const idOf = (m: ReceivedMessage) => (m.body as Step).id;

/** Long enough that nothing comes back by itself during a case. */
const LONG_VT_MS = 30000;
/** Short enough to wait out (PGMQ counts visibility timeouts in whole seconds). */
const SHORT_VT_MS = 1000;
/** Node, PostgreSQL and Erlang read the same clock, but round differently. */
const CLOCK_SLACK_MS = 25;
/** How late a redelivery or a delayed message may be on a loaded machine. */
const LATE_MS = 5000;

/**
 * The messaging port's contract (libs/core/src/ports/message-bus.port.ts), run unchanged
 * against every adapter: what callers may rely on whichever broker runs. Each case makes its
 * own queues, so cases share a broker but never a queue.
 */
export function describeMessageBusContract(
  name: string,
  start: () => Promise<MessageBusContractBroker>,
): void {
  describe(`MessageBus contract: ${name}`, () => {
    let broker: MessageBusContractBroker | undefined;
    let opened: MessageBus[] = [];
    /** The bus a case uses unless it says otherwise. */
    let bus: MessageBus;

    beforeAll(async () => {
      broker = await start();
    });

    afterAll(async () => {
      await broker?.teardown();
    });

    beforeEach(() => {
      opened = [];
      bus = open();
    });

    afterEach(async () => {
      // close() is idempotent for every adapter; a case may already have closed some.
      await Promise.all(opened.map((b) => b.close()));
    });

    function open(): MessageBus {
      if (!broker) throw new Error('the broker did not start');
      const made = broker.bus();
      opened.push(made);
      return made;
    }

    async function newQueue(on: MessageBus = bus): Promise<string> {
      const queue = `contract_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await on.ensureQueue(queue);
      return queue;
    }

    /** Receives (acking none) until exactly `count` messages arrived; fails on timeout. */
    async function receiveN(
      on: MessageBus,
      queue: string,
      count: number,
      visibilityTimeoutMs = LONG_VT_MS,
      timeoutMs = LATE_MS,
    ): Promise<ReceivedMessage[]> {
      const got: ReceivedMessage[] = [];
      await pollUntil(
        async () => {
          const batch = await on.receive(queue, {
            maxMessages: count - got.length,
            visibilityTimeoutMs,
          });
          got.push(...batch);
          return got.length;
        },
        (n) => n >= count,
        { description: `${count} message(s) from ${queue}`, intervalMs: 20, timeoutMs },
      );
      return got;
    }

    /** Keeps receiving from `queue` for `ms` and fails if anything is there. */
    async function expectEmptyFor(on: MessageBus, queue: string, ms: number): Promise<void> {
      const until = Date.now() + ms;
      do {
        const got = await on.receive(queue, { maxMessages: 10, visibilityTimeoutMs: LONG_VT_MS });
        expect(got.map(labelOf)).toEqual([]);
        await sleep(50);
      } while (Date.now() < until);
    }

    async function expectDepth(on: MessageBus, queue: string, depth: number): Promise<void> {
      await pollUntil(
        () => on.depth(queue),
        (n) => n === depth,
        { description: `depth of ${queue} to be ${depth}`, intervalMs: 20, timeoutMs: LATE_MS },
      );
    }

    const count = (values: () => number, done: (n: number) => boolean, description: string) =>
      pollUntil(() => Promise.resolve(values()), done, {
        description,
        intervalMs: 10,
        timeoutMs: 15000,
      });

    it('delivers published domain events to an outside consumer of the namespace, each once, as published', async () => {
      const namespace = `ev_${randomUUID().slice(0, 8)}`;
      await bus.ensureDomainEvents(namespace);
      const tap = await broker!.tapDomainEvents(namespace);
      try {
        const events = ['order.created', 'order.shipped', 'order.created'].map(
          (name, i): DomainEvent => ({
            eventId: randomUUID(),
            name,
            outcome: 'success',
            payload: { n: i },
            namespace,
            taskUuid: randomUUID(),
            stepUuid: randomUUID(),
            stepName: 'ship',
            correlationId: randomUUID(),
            traceparent: null,
            occurredAt: new Date().toISOString(),
          }),
        );
        await bus.publishDomainEvents(namespace, events);
        await pollUntil(
          () => Promise.resolve(tap.received.length),
          (n) => n >= events.length,
          { timeoutMs: LATE_MS, description: 'every domain event to arrive' },
        );
        await sleep(100);
        const byId = (list: DomainEvent[]) =>
          [...list].sort((a, b) => a.eventId.localeCompare(b.eventId));
        expect(byId(tap.received)).toEqual(byId(events));
      } finally {
        await tap.close();
      }
    });

    it('answers ping on a healthy bus, fresh or in use', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
      await newQueue();
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('ensureQueue is idempotent, from any instance, and keeps what the queue holds', async () => {
      const other = open();
      const q = await newQueue();
      await bus.sendBatch(q, [envelope('a'), envelope('b')]);
      await other.ensureQueue(q);
      await bus.ensureQueue(q);
      await expectDepth(other, q, 2);
      const got = await receiveN(other, q, 2);
      expect(got.map(labelOf)).toEqual(['a', 'b']);
    });

    it('delivers one queue in send order to a single consumer, apart from other queues', async () => {
      const q = await newQueue();
      const otherQ = await newQueue();
      const sent = [envelope('1'), envelope('2'), envelope('3'), envelope('4'), envelope('5')];
      const before = Date.now();
      await bus.send(q, sent[0]!);
      await bus.send(otherQ, envelope('other-1'));
      await bus.sendBatch(q, sent.slice(1, 4));
      await bus.send(otherQ, envelope('other-2'));
      await bus.send(q, sent[4]!);
      const after = Date.now();

      // Several small receives: order holds across them, not only within one.
      const got: ReceivedMessage[] = [];
      while (got.length < 5) got.push(...(await receiveN(bus, q, Math.min(2, 5 - got.length))));
      expect(got.map(labelOf)).toEqual(['1', '2', '3', '4', '5']);
      expect(got.map((m) => m.body)).toEqual(sent);
      for (const m of got) {
        expect(m.queue).toBe(q);
        expect(m.deliveryCount).toBe(1);
        expect(m.enqueuedAt).toBeInstanceOf(Date);
        expect(m.enqueuedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(m.enqueuedAt.getTime()).toBeLessThanOrEqual(after + 1000);
      }
      expect(new Set(got.map((m) => m.id)).size).toBe(5);
      expect((await receiveN(bus, otherQ, 2)).map(labelOf)).toEqual(['other-1', 'other-2']);
    });

    it('sendBatch delivers the whole batch in order; an empty batch is a no-op', async () => {
      const q = await newQueue();
      const batch = Array.from({ length: 50 }, (_, i) => envelope(`b${i}`));
      await bus.sendBatch(q, []);
      await bus.sendBatch(q, batch);
      await bus.sendBatch(q, []);
      await expectDepth(bus, q, 50);
      const got = await receiveN(bus, q, 50);
      expect(got.map((m) => m.body)).toEqual(batch);
    });

    it('holds delayed messages back until their delay has passed, then delivers them', async () => {
      const q = await newQueue();
      const sentAt = Date.now();
      await bus.send(q, envelope('late'), { delayMs: 1500 });
      await bus.sendBatch(q, [envelope('soon-a'), envelope('soon-b')], { delayMs: 500 });
      await bus.send(q, envelope('now'));

      const arrivals: { label: string; afterMs: number; deliveryCount: number }[] = [];
      await pollUntil(
        async () => {
          const got = await bus.receive(q, { maxMessages: 10, visibilityTimeoutMs: LONG_VT_MS });
          const afterMs = Date.now() - sentAt;
          for (const m of got) {
            arrivals.push({ label: labelOf(m), afterMs, deliveryCount: m.deliveryCount });
          }
          return arrivals.length;
        },
        (n) => n >= 4,
        { description: 'all four messages', intervalMs: 20, timeoutMs: 1500 + LATE_MS },
      );
      expect(arrivals.map((a) => a.label)).toEqual(['now', 'soon-a', 'soon-b', 'late']);
      const at = Object.fromEntries(arrivals.map((a) => [a.label, a.afterMs]));
      // Not delayed: visible in an earlier receive than the message delayed by 1.5 s (a
      // comparison of arrivals, not a bound on how fast this machine is).
      expect(at.now).toBeLessThan(at.late!);
      expect(at['soon-a']).toBeGreaterThanOrEqual(500 - CLOCK_SLACK_MS);
      expect(at['soon-b']).toBeGreaterThanOrEqual(500 - CLOCK_SLACK_MS);
      expect(at.late).toBeGreaterThanOrEqual(1500 - CLOCK_SLACK_MS);
      expect(arrivals.every((a) => a.deliveryCount === 1)).toBe(true);
    });

    it('redelivers a received, unsettled message once its visibility timeout has run out', async () => {
      const other = open();
      const q = await newQueue();
      await bus.send(q, envelope('held'));
      const [held] = await receiveN(bus, q, 1, SHORT_VT_MS);
      const receivedAt = Date.now();
      // Hidden from everyone meanwhile, the receiver included.
      expect(await other.receive(q, { maxMessages: 1, visibilityTimeoutMs: LONG_VT_MS })).toEqual(
        [],
      );
      expect(await bus.receive(q, { maxMessages: 1, visibilityTimeoutMs: LONG_VT_MS })).toEqual([]);
      const [again] = await receiveN(other, q, 1, LONG_VT_MS, SHORT_VT_MS + LATE_MS);
      expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(SHORT_VT_MS - CLOCK_SLACK_MS);
      expect(again!.body).toEqual(held!.body);
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
      await other.ack(again!);
      await expectDepth(other, q, 0);
    });

    it('redelivers to another consumer what a lost consumer held unsettled', async () => {
      const lost = open();
      const survivor = open();
      const q = await newQueue();
      const sent = envelope('orphan');
      await bus.send(q, sent);
      const [held] = await receiveN(lost, q, 1, 1500);
      expect(held!.deliveryCount).toBe(1);
      await lost.close();
      const [again] = await receiveN(survivor, q, 1, LONG_VT_MS, 1500 + LATE_MS);
      expect(again!.body).toEqual(sent);
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
      await survivor.ack(again!);
      await expectDepth(survivor, q, 0);
    });

    it('hands a subscriber what a lost consumer held unsettled, with nothing sent after', async () => {
      const lost = open();
      const q = await newQueue();
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => (release = resolve));
      const handled: { label: string; deliveryCount: number }[] = [];
      await bus.subscribe(
        [q],
        async (m) => {
          handled.push({ label: labelOf(m), deliveryCount: m.deliveryCount });
          if (labelOf(m) === 'blocker') await blocked;
          await bus.ack(m);
        },
        { prefetch: 1, visibilityTimeoutMs: LONG_VT_MS },
      );
      await bus.send(q, envelope('blocker'));
      await count(
        () => handled.length,
        (n) => n === 1,
        'the blocker to be handled',
      );
      // Sent while the subscriber is at its prefetch: the other consumer takes it, then dies.
      await bus.send(q, envelope('orphan'));
      const [held] = await receiveN(lost, q, 1, SHORT_VT_MS);
      expect(labelOf(held!)).toBe('orphan');
      release();
      await lost.close();
      // The queue stays quiet from here on: the subscriber has to come back for it by itself.
      await count(
        () => handled.length,
        (n) => n === 2,
        'the orphan to be handed over',
      );
      expect(handled[1]!.label).toBe('orphan');
      expect(handled[1]!.deliveryCount).toBeGreaterThanOrEqual(2);
      await expectDepth(bus, q, 0);
    });

    it('removes an acked message for good', async () => {
      const q = await newQueue();
      await bus.sendBatch(q, [envelope('acked'), envelope('kept')]);
      await expectDepth(bus, q, 2);
      const [acked] = await receiveN(bus, q, 1, SHORT_VT_MS);
      expect(labelOf(acked!)).toBe('acked');
      await bus.ack(acked!);
      await expectDepth(bus, q, 1);
      // Past its visibility timeout it stays gone; only the other message is left.
      await sleep(SHORT_VT_MS + 200);
      const rest = await receiveN(bus, q, 1);
      expect(rest.map(labelOf)).toEqual(['kept']);
      await bus.ack(rest[0]!);
      await expectDepth(bus, q, 0);
      await expectEmptyFor(bus, q, 300);
    });

    it('redelivers a nacked message at once when no delay is given', async () => {
      const other = open();
      const q = await newQueue();
      await bus.send(q, envelope('nacked'));
      const [m] = await receiveN(bus, q, 1);
      await bus.nack(m!);
      // Back well before the 30 s visibility timeout it was received with: waiting at most
      // half of it proves the nack, not the timeout, released it.
      const [again] = await receiveN(other, q, 1, LONG_VT_MS, LONG_VT_MS / 2);
      expect(labelOf(again!)).toBe('nacked');
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
    });

    it('redelivers a message nacked with a delay, not before the delay', async () => {
      const other = open();
      const q = await newQueue();
      await bus.send(q, envelope('later'));
      const [m] = await receiveN(bus, q, 1);
      const nackedAt = Date.now();
      await bus.nack(m!, { delayMs: 1000 });
      const [again] = await receiveN(other, q, 1, LONG_VT_MS, 1000 + LATE_MS);
      expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(1000 - CLOCK_SLACK_MS);
      expect(labelOf(again!)).toBe('later');
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
      await other.ack(again!);
      await expectDepth(other, q, 0);
    });

    it('keeps redelivering a message nacked with a delay, counting each delivery exactly', async () => {
      const q = await newQueue();
      const sent = envelope('again');
      await bus.send(q, sent);
      const counts: number[] = [];
      for (let round = 0; round < 3; round++) {
        const [m] = await receiveN(bus, q, 1, LONG_VT_MS, 300 + LATE_MS);
        expect(m!.body).toEqual(sent);
        counts.push(m!.deliveryCount);
        if (round < 2) await bus.nack(m!, { delayMs: 300 });
        else await bus.ack(m!);
      }
      // The transport's retry path: its delivery cap (TASKER_MAX_DELIVERIES) counts on this.
      expect(counts).toEqual([1, 2, 3]);
      await expectDepth(bus, q, 0);
    });

    it('dead-letters a message with its body to the dead-letter queue, out of the source', async () => {
      const other = open();
      const q = await newQueue();
      const good = envelope('dead');
      // What usually gets dead-lettered: a body that is not an envelope at all.
      const poison = { not: 'an envelope', nested: { n: 1, s: 'ü€😀' } };
      await bus.send(q, good);
      await bus.send(q, poison as unknown as Step);
      const got = await receiveN(bus, q, 2, SHORT_VT_MS);
      const receivedAt = Date.now();
      await bus.deadLetter(got[0]!, 'contract: first');
      await bus.deadLetter(got[1]!, 'contract: malformed');
      await expectDepth(bus, q, 0);
      await expectDepth(bus, deadLetterQueueName(q), 2);

      // Another instance (having ensured the queue, which ensures its DLQ) finds them there.
      await other.ensureQueue(q);
      const dead = await receiveN(other, deadLetterQueueName(q), 2);
      expect(dead.map((m) => m.body)).toEqual([good, poison]);
      expect(dead.every((m) => m.queue === deadLetterQueueName(q))).toBe(true);
      // Nothing comes back to the source once the visibility timeout has run out.
      await expectEmptyFor(bus, q, Math.max(300, SHORT_VT_MS + 300 - (Date.now() - receivedAt)));
    });

    it('carries ~1 MB payloads intact, alone, batched and delayed', async () => {
      const q = await newQueue();
      const big = (tag: string) =>
        envelope(`${tag}:${'ü€😀"\\\n'.repeat(10000)}${'x'.repeat(1024 * 1024)}`);
      const one = big('one');
      const batch = [big('b1'), envelope('small'), big('b2')];
      const delayed = big('delayed');
      await bus.send(q, one);
      await bus.sendBatch(q, batch);
      await bus.send(q, delayed, { delayMs: 300 });
      const got = await receiveN(bus, q, 5);
      expect(got.map((m) => m.body)).toEqual([one, ...batch, delayed]);
    });

    it('fails a send to a queue that was never ensured instead of losing it', async () => {
      const missing = `contract_missing_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await expect(bus.send(missing, envelope('lost?'))).rejects.toThrow();
      await expect(bus.sendBatch(missing, [envelope('a'), envelope('b')])).rejects.toThrow();
      await expect(bus.send(missing, envelope('delayed'), { delayMs: 300 })).rejects.toThrow();
      // The bus still works, and nothing of the above turns up once the queue exists.
      await bus.ensureQueue(missing);
      await expectEmptyFor(bus, missing, 800);
      await bus.send(missing, envelope('ok'));
      expect((await receiveN(bus, missing, 1)).map(labelOf)).toEqual(['ok']);
    });

    it('pushes to a subscriber, at most `prefetch` in flight over all its queues', async () => {
      const q1 = await newQueue();
      const q2 = await newQueue();
      const unsubscribed = await newQueue();
      let running = 0;
      let peak = 0;
      const handled: { queue: string; label: string }[] = [];
      await bus.subscribe(
        [q1, q2],
        async (m) => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(40);
          handled.push({ queue: m.queue, label: labelOf(m) });
          await bus.ack(m);
          running -= 1;
        },
        { prefetch: 3, visibilityTimeoutMs: LONG_VT_MS },
      );
      await bus.sendBatch(
        q1,
        Array.from({ length: 10 }, (_, i) => envelope(`q1-${i}`)),
      );
      await bus.sendBatch(
        q2,
        Array.from({ length: 10 }, (_, i) => envelope(`q2-${i}`)),
      );
      await bus.sendBatch(unsubscribed, [envelope('not-mine')]);
      await count(
        () => handled.length,
        (n) => n >= 20,
        'all 20 handled',
      );
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
      expect(new Set(handled.map((h) => h.label)).size).toBe(20);
      expect(handled.every((h) => h.label.startsWith(h.queue === q1 ? 'q1-' : 'q2-'))).toBe(true);
      await expectDepth(bus, q1, 0);
      await expectDepth(bus, q2, 0);
      expect(await bus.depth(unsubscribed)).toBe(1);
    });

    it('hands one queue to a prefetch-1 subscriber in send order', async () => {
      const q = await newQueue();
      const seen: string[] = [];
      await bus.subscribe(
        [q],
        async (m) => {
          seen.push(labelOf(m));
          await bus.ack(m);
        },
        { prefetch: 1, visibilityTimeoutMs: LONG_VT_MS },
      );
      const labels = Array.from({ length: 20 }, (_, i) => `m${i}`);
      await bus.sendBatch(q, labels.slice(0, 10).map(envelope));
      for (const label of labels.slice(10)) await bus.send(q, envelope(label));
      await count(
        () => seen.length,
        (n) => n >= 20,
        'all 20 handled',
      );
      expect(seen).toEqual(labels);
    });

    it('redelivers the message of a handler that throws', async () => {
      const q = await newQueue();
      const attempts: { id: string; deliveryCount: number }[] = [];
      await bus.subscribe(
        [q],
        async (m) => {
          attempts.push({ id: idOf(m), deliveryCount: m.deliveryCount });
          if (attempts.length === 1) throw new Error('contract: handler failure');
          await bus.ack(m);
        },
        { prefetch: 1, visibilityTimeoutMs: SHORT_VT_MS },
      );
      const sent = envelope('flaky');
      await bus.send(q, sent);
      await count(
        () => attempts.length,
        (n) => n >= 2,
        'a second delivery after the handler threw',
      );
      expect(attempts.map((a) => a.id)).toEqual([sent.id, sent.id]);
      expect(attempts[0]!.deliveryCount).toBe(1);
      expect(attempts[1]!.deliveryCount).toBeGreaterThanOrEqual(2);
      await expectDepth(bus, q, 0);
    });

    it('subscription.close() lets in-flight handlers finish and settle, then hands out nothing', async () => {
      const other = open();
      const q = await newQueue();
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const subscription = await bus.subscribe(
        [q],
        async (m) => {
          events.push(`start ${labelOf(m)}`);
          await gate;
          await sleep(50);
          await bus.ack(m);
          events.push(`acked ${labelOf(m)}`);
        },
        { prefetch: 2, visibilityTimeoutMs: SHORT_VT_MS },
      );
      await bus.sendBatch(q, [envelope('a'), envelope('b')]);
      await count(
        () => events.length,
        (n) => n >= 2,
        'both handlers to start',
      );
      const closing = subscription.close().then(() => events.push('closed'));
      try {
        await sleep(200);
        expect(events).not.toContain('closed');
      } finally {
        release();
      }
      await closing;
      expect(events.slice(2).sort()).toEqual(['acked a', 'acked b', 'closed']);
      expect(events.at(-1)).toBe('closed');
      // The acks landed: nothing is left, nothing comes back after the visibility timeout.
      expect(await other.depth(q)).toBe(0);
      const later = [envelope('c'), envelope('d'), envelope('e')];
      await bus.sendBatch(q, later);
      await sleep(SHORT_VT_MS + 200);
      expect(events.filter((e) => e.startsWith('start'))).toHaveLength(2);
      const left = await receiveN(other, q, 3);
      expect(left.map((m) => m.body)).toEqual(later);
      await expectEmptyFor(other, q, 200);
    });

    it('bus.close() drains its subscriptions: in-flight handlers finish and their acks land', async () => {
      const closing = open();
      const other = open();
      const q = await newQueue();
      let acked = 0;
      let started = 0;
      await closing.subscribe(
        [q],
        async (m) => {
          started += 1;
          await sleep(300);
          await closing.ack(m);
          acked += 1;
        },
        { prefetch: 4, visibilityTimeoutMs: LONG_VT_MS },
      );
      await bus.sendBatch(q, [envelope('a'), envelope('b'), envelope('c')]);
      await count(
        () => started,
        (n) => n >= 3,
        'three handlers to start',
      );
      await closing.close();
      expect(acked).toBe(3);
      expect(await other.depth(q)).toBe(0);
      await bus.send(q, envelope('after'));
      expect((await receiveN(other, q, 1)).map(labelOf)).toEqual(['after']);
      expect(started).toBe(3);
    });

    it('never lets two pulling consumers hold one message; together they take each once', async () => {
      const a = open();
      const b = open();
      const q = await newQueue();
      const total = 200;
      const sent = Array.from({ length: total }, (_, i) => envelope(`p${i}`));
      await Promise.all([a.sendBatch(q, sent.slice(0, 100)), b.sendBatch(q, sent.slice(100))]);
      const holding = new Set<string>();
      const overlaps: string[] = [];
      const done: string[] = [];
      const deadline = Date.now() + 20000;
      const consume = async (on: MessageBus) => {
        let mine = 0;
        while (done.length < total && Date.now() < deadline) {
          const batch = await on.receive(q, { maxMessages: 10, visibilityTimeoutMs: LONG_VT_MS });
          if (batch.length === 0) {
            await sleep(10);
            continue;
          }
          for (const m of batch) {
            if (holding.has(idOf(m))) overlaps.push(idOf(m));
            holding.add(idOf(m));
          }
          await sleep(2);
          await Promise.all(batch.map((m) => on.ack(m)));
          for (const m of batch) {
            holding.delete(idOf(m));
            done.push(idOf(m));
          }
          mine += batch.length;
        }
        return mine;
      };
      const [byA, byB] = await Promise.all([consume(a), consume(b)]);
      expect(overlaps).toEqual([]);
      expect(done).toHaveLength(total);
      expect(new Set(done)).toEqual(new Set(sent.map((m) => m.id)));
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      await expectDepth(a, q, 0);
    });

    it('never lets two subscriptions hold one message; together they handle each once', async () => {
      const a = open();
      const b = open();
      const q = await newQueue();
      const total = 200;
      const holding = new Set<string>();
      const overlaps: string[] = [];
      const done: string[] = [];
      const by = new Map<MessageBus, number>([
        [a, 0],
        [b, 0],
      ]);
      const handler = (on: MessageBus) => async (m: ReceivedMessage) => {
        if (holding.has(idOf(m))) overlaps.push(idOf(m));
        holding.add(idOf(m));
        await sleep(2);
        await on.ack(m);
        holding.delete(idOf(m));
        done.push(idOf(m));
        by.set(on, (by.get(on) ?? 0) + 1);
      };
      await a.subscribe([q], handler(a), { prefetch: 8, visibilityTimeoutMs: LONG_VT_MS });
      await b.subscribe([q], handler(b), { prefetch: 8, visibilityTimeoutMs: LONG_VT_MS });
      const sent = Array.from({ length: total }, (_, i) => envelope(`s${i}`));
      await Promise.all([a.sendBatch(q, sent.slice(0, 100)), b.sendBatch(q, sent.slice(100))]);
      await count(
        () => done.length,
        (n) => n >= total,
        `all ${total} handled`,
      );
      // Anything handed out twice would turn up now.
      await sleep(300);
      expect(overlaps).toEqual([]);
      expect(done).toHaveLength(total);
      expect(new Set(done)).toEqual(new Set(sent.map((m) => m.id)));
      expect(by.get(a)).toBeGreaterThan(0);
      expect(by.get(b)).toBeGreaterThan(0);
      await expectDepth(a, q, 0);
    });
  });
}
