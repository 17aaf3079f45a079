import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageEnvelope } from '#contracts';
import { createEnvelope, deadLetterQueueName } from '#contracts';
import type { MessageBus, ReceivedMessage } from '#core';
import { pollUntil } from '#testing';

export interface ContractBroker {
  /** A new bus instance on the same broker (another consumer, or another process). */
  connect(): MessageBus;
  /** Releases the broker (database, vhost). Buses made by `connect` are closed by the suite. */
  teardown(): Promise<void>;
}

type Step = MessageEnvelope<'step.execute.v1'>;

function step(n: number, filler = ''): Step {
  const uuid = randomUUID();
  return createEnvelope(
    'step.execute.v1',
    { taskUuid: uuid, stepUuid: uuid, stepName: `s${n}${filler}`, namespace: 'contract' },
    { correlationId: uuid },
  );
}

const nameOf = (m: ReceivedMessage) => (m.body as Step).payload.stepName;
const VT = { visibilityTimeoutMs: 30000 };

/**
 * The messaging port's contract (ARCHITECTURE §5), run unchanged against every adapter: what
 * callers may rely on whichever broker runs. Each case uses its own queues.
 */
export function describeMessageBusContract(name: string, start: () => Promise<ContractBroker>) {
  describe(`MessageBus contract: ${name}`, () => {
    let broker: ContractBroker;
    let buses: MessageBus[];
    let bus: MessageBus;

    beforeAll(async () => {
      broker = await start();
    });

    afterAll(async () => {
      await broker?.teardown();
    });

    beforeEach(() => {
      buses = [];
      bus = connect();
    });

    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close()));
    });

    function connect(): MessageBus {
      const made = broker.connect();
      buses.push(made);
      return made;
    }

    async function queue(on: MessageBus = bus): Promise<string> {
      const name = `contract_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await on.ensureQueue(name);
      return name;
    }

    /** Receives until `count` messages arrived (or times out), acking none. */
    async function receiveAll(q: string, count: number, on = bus, vt = VT.visibilityTimeoutMs) {
      const got: ReceivedMessage[] = [];
      await pollUntil(
        async () => {
          got.push(
            ...(await on.receive(q, { maxMessages: count - got.length, visibilityTimeoutMs: vt })),
          );
          return got.length;
        },
        (n) => n >= count,
        { description: `${count} messages from ${q}`, intervalMs: 20 },
      );
      return got;
    }

    it('delivers the messages of one queue in send order, batch sends included', async () => {
      const q = await queue();
      await bus.send(q, step(1));
      await bus.sendBatch(q, [step(2), step(3), step(4)]);
      await bus.send(q, step(5));
      const got = await receiveAll(q, 5);
      expect(got.map(nameOf)).toEqual(['s1', 's2', 's3', 's4', 's5']);
      expect(got.every((m) => m.deliveryCount === 1 && m.queue === q)).toBe(true);
      expect(got[0]?.body).toMatchObject({ type: 'step.execute.v1', version: 1 });
    });

    it('holds a delayed message back until its delay has passed', async () => {
      const q = await queue();
      const sentAt = Date.now();
      await bus.send(q, step(1), { delayMs: 1200 });
      await bus.send(q, step(2));
      const first = await receiveAll(q, 1);
      expect(first.map(nameOf)).toEqual(['s2']);
      expect(await bus.receive(q, { maxMessages: 1, ...VT })).toEqual([]);
      const [delayed] = await receiveAll(q, 1);
      expect(nameOf(delayed!)).toBe('s1');
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1200);
    });

    it('removes an acked message for good', async () => {
      const q = await queue();
      await bus.send(q, step(1));
      const [m] = await receiveAll(q, 1, bus, 1000);
      await bus.ack(m!);
      await pollUntil(
        () => bus.depth(q),
        (n) => n === 0,
        { description: 'depth 0' },
      );
      await sleep(1500);
      expect(await bus.receive(q, { maxMessages: 1, ...VT })).toEqual([]);
    });

    it('redelivers an unsettled message once its visibility timeout has run out', async () => {
      const q = await queue();
      await bus.send(q, step(1));
      const [m] = await receiveAll(q, 1, bus, 1000);
      expect(await bus.receive(q, { maxMessages: 1, ...VT })).toEqual([]);
      const [again] = await receiveAll(q, 1);
      expect(nameOf(again!)).toBe(nameOf(m!));
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
    });

    it('redelivers to another consumer what a lost consumer held unsettled', async () => {
      const crashing = connect();
      const q = await queue();
      await bus.send(q, step(1));
      await receiveAll(q, 1, crashing, 1500);
      await crashing.close();
      const [again] = await receiveAll(q, 1, bus);
      expect(nameOf(again!)).toBe('s1');
      expect(again!.deliveryCount).toBeGreaterThanOrEqual(2);
    });

    it('redelivers a nacked message at once, or not before the nack delay', async () => {
      const q = await queue();
      await bus.send(q, step(1));
      const [m] = await receiveAll(q, 1);
      await bus.nack(m!);
      const [now] = await receiveAll(q, 1);
      expect(nameOf(now!)).toBe('s1');
      const nackedAt = Date.now();
      await bus.nack(now!, { delayMs: 1000 });
      expect(await bus.receive(q, { maxMessages: 1, ...VT })).toEqual([]);
      const [later] = await receiveAll(q, 1);
      expect(nameOf(later!)).toBe('s1');
      expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(900);
      expect(later!.deliveryCount).toBeGreaterThanOrEqual(3);
    });

    it('moves a poison message to the dead-letter queue with its body, out of the source', async () => {
      const q = await queue();
      const poison = { not: 'an envelope', n: 1 };
      await bus.send(q, poison as never);
      const [m] = await receiveAll(q, 1);
      await bus.deadLetter(m!, 'malformed envelope');
      const [dead] = await receiveAll(deadLetterQueueName(q), 1);
      expect(dead!.body).toEqual(poison);
      await pollUntil(
        () => bus.depth(q),
        (n) => n === 0,
        { description: 'source empty' },
      );
      expect(await bus.receive(q, { maxMessages: 1, ...VT })).toEqual([]);
    });

    it('carries a large payload intact', async () => {
      const q = await queue();
      const big = step(1, 'x'.repeat(1024 * 1024));
      await bus.send(q, big);
      const [m] = await receiveAll(q, 1);
      expect(m!.body).toEqual(big);
    });

    it('fails a send to a queue that was never created instead of losing it', async () => {
      await expect(
        bus.send(`contract_missing_${randomUUID().slice(0, 8)}`, step(1)),
      ).rejects.toThrow();
    });

    it('pushes to a subscriber with at most `prefetch` handlers running at once', async () => {
      const q = await queue();
      let running = 0;
      let peak = 0;
      const done: string[] = [];
      await bus.subscribe(
        [q],
        async (m) => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(30);
          running -= 1;
          done.push(nameOf(m));
          await bus.ack(m);
        },
        { prefetch: 3, ...VT },
      );
      await bus.sendBatch(
        q,
        Array.from({ length: 12 }, (_, i) => step(i)),
      );
      await pollUntil(
        () => Promise.resolve(done.length),
        (n) => n === 12,
        {
          description: 'all 12 handled',
        },
      );
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(3);
      expect(new Set(done).size).toBe(12);
    });

    it('closes a subscription only after its in-flight handlers settled, and hands out nothing after', async () => {
      const q = await queue();
      const started: string[] = [];
      let acked = 0;
      const subscription = await bus.subscribe(
        [q],
        async (m) => {
          started.push(nameOf(m));
          await sleep(400);
          await bus.ack(m);
          acked += 1;
        },
        { prefetch: 1, ...VT },
      );
      await bus.send(q, step(1));
      await pollUntil(
        () => Promise.resolve(started.length),
        (n) => n === 1,
        {
          description: 'the handler to start',
        },
      );
      await subscription.close();
      expect(acked).toBe(1);
      await bus.send(q, step(2));
      await sleep(500);
      expect(started).toEqual(['s1']);
      const [left] = await receiveAll(q, 1);
      expect(nameOf(left!)).toBe('s2');
    });

    it('never hands one message to two concurrent consumers, and loses none', async () => {
      const q = await queue();
      const other = connect();
      const total = 200;
      const inHand = new Set<string>();
      const seen: string[] = [];
      let overlaps = 0;
      const handler = (on: MessageBus) => async (m: ReceivedMessage) => {
        const id = nameOf(m);
        if (inHand.has(id)) overlaps += 1;
        inHand.add(id);
        await sleep(2);
        seen.push(id);
        inHand.delete(id);
        await on.ack(m);
      };
      await bus.subscribe([q], handler(bus), { prefetch: 8, ...VT });
      await other.subscribe([q], handler(other), { prefetch: 8, ...VT });
      await bus.sendBatch(
        q,
        Array.from({ length: total }, (_, i) => step(i)),
      );
      await pollUntil(
        () => Promise.resolve(seen.length),
        (n) => n >= total,
        {
          description: `all ${total} consumed`,
          timeoutMs: 30000,
        },
      );
      await sleep(300);
      expect(overlaps).toBe(0);
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
    });

    it('answers a ping while healthy', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
    });
  });
}
