import { defineHandler, RetryableStepError } from '#core';
import { pollUntil } from '#testing';
import { StalenessDetector } from '../apps/orchestration/src/services/staleness-detector.service.js';
import { peakOverlap } from './support/overlap.js';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Flow control end to end: a ready step over its key's limit waits (pending) until a slot frees;
 * priorities order the wait; a rate limit spaces starts; the cancel strategies cancel the newest
 * or the running task. Each handler records when it ran, so overlaps are measured, not assumed.
 */
const PER_TENANT = `
namespace: flow
name: per_tenant
version: 1.0.0
concurrency:
  key: context.tenant
  default: anonymous
  max_running: 2
steps:
  - name: first
    handler: flow.work
  - name: second
    handler: flow.work
    depends_on: [first]
`;

const SHARED_API = `
namespace: flow
name: shared_api
version: 1.0.0
steps:
  - name: call
    handler: flow.gated
    concurrency:
      name: partner-api
      max_running: 1
`;

const FAIR_POOL = `
namespace: flow
name: fair_pool
version: 1.0.0
identity_strategy: always_unique
steps:
  - name: call
    handler: flow.gated
    concurrency: { name: fair-api, max_running: 1, fair_by: context.tenant }
`;

const RATED = `
namespace: flow
name: rated
version: 1.0.0
steps:
  - name: call
    handler: flow.quick
    concurrency:
      key: context.account
      rate: { limit: 3, per_seconds: 1 }
`;

const BURST = `
namespace: flow
name: burst
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.tenant, max_running: 10 }
steps:
  - name: tick
    handler: flow.quick
`;

const NEWEST_LOSES = `
namespace: flow
name: newest_loses
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.doc, max_running: 1, strategy: cancel_newest }
steps:
  - name: render
    handler: flow.slow
`;

const LATEST_WINS = `
namespace: flow
name: latest_wins
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.doc, max_running: 1, strategy: cancel_in_progress }
steps:
  - name: render
    handler: flow.slow
`;

const FLAKY = `
namespace: flow
name: flaky
version: 1.0.0
steps:
  - name: call
    handler: flow.flaky
    retry: { max_attempts: 2, backoff: fixed, backoff_base_ms: 300 }
    concurrency: { name: flaky-api, max_running: 1 }
`;

/** One task per tenant at a time, and at most two calls to a shared API across tenants. */
const PER_TENANT_API = `
namespace: flow
name: per_tenant_api
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.tenant, max_running: 1 }
steps:
  - name: prepare
    handler: flow.quick
  - name: call
    handler: flow.api
    depends_on: [prepare]
    concurrency: { name: nested-api, max_running: 2 }
`;

interface Run {
  task: string;
  tag: string;
  start: number;
  end: number;
}

const runs: Run[] = [];
let slowGate: Promise<void> = Promise.resolve();
const failedOnce = new Set<string>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const record = async (
  ctx: { taskUuid: string; context: unknown },
  ms: number,
  gate: Promise<void> = Promise.resolve(),
) => {
  const context = ctx.context as { tenant?: string; tag?: string; account?: string };
  const run: Run = {
    task: ctx.taskUuid,
    tag: context.tag ?? context.tenant ?? context.account ?? '',
    start: Date.now(),
    end: 0,
  };
  runs.push(run);
  await gate;
  await sleep(ms);
  run.end = Date.now();
};

const HANDLERS = [
  defineHandler('flow.work', async (ctx) => {
    await record(ctx, 120);
    return { ok: true };
  }),
  defineHandler('flow.gated', async (ctx) => {
    await record(ctx, 30, slowGate);
    return { ok: true };
  }),
  defineHandler('flow.api', async (ctx) => {
    await record({ taskUuid: ctx.taskUuid, context: { tag: 'api' } }, 120);
    return { ok: true };
  }),
  defineHandler('flow.quick', async (ctx) => {
    await record(ctx, 1);
    return { ok: true };
  }),
  defineHandler('flow.slow', async (ctx) => {
    await record(ctx, 1);
    await slowGate;
    return { ok: true };
  }),
  defineHandler('flow.flaky', async (ctx) => {
    await record(ctx, 50);
    if (!failedOnce.has(ctx.taskUuid)) {
      failedOnce.add(ctx.taskUuid);
      throw new RetryableStepError('first call fails');
    }
    return { ok: true };
  }),
];

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'EventDrivenOnly' },
  { backend: 'rabbitmq' },
];

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'concurrency and rate limits over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: {
          'per-tenant.yaml': PER_TENANT,
          'shared.yaml': SHARED_API,
          'fair.yaml': FAIR_POOL,
          'rated.yaml': RATED,
          'burst.yaml': BURST,
          'newest.yaml': NEWEST_LOSES,
          'latest.yaml': LATEST_WINS,
          'flaky.yaml': FLAKY,
          'per-tenant-api.yaml': PER_TENANT_API,
        },
        env: { TASKER_WORKER_CONCURRENCY: '10' },
      });
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    beforeEach(() => {
      runs.length = 0;
    });

    const finish = (uuids: readonly string[], timeoutMs = 30000) =>
      Promise.all(
        uuids.map((u) => tasker.waitForStatus(u, ['complete', 'error', 'cancelled'], timeoutMs)),
      );

    it('never runs more than max_running tasks of one key, while other keys get their own slots', async () => {
      const uuids: string[] = [];
      for (let i = 0; i < 6; i++) {
        for (const tenant of ['a', 'b', 'c']) {
          uuids.push(
            await tasker.submit({
              namespace: 'flow',
              name: 'per_tenant',
              context: { tenant, i },
            }),
          );
        }
      }
      const listed = await tasker.request<{
        items: { key: string; running: number; waiting: number }[];
      }>('GET', '/v1/concurrency?limit=flow.per_tenant');
      expect(listed.status).toBe(200);
      expect(listed.body.items.length).toBeGreaterThan(0);
      for (const key of listed.body.items) expect(key.running).toBeLessThanOrEqual(2);
      expect(listed.body.items.some((k) => k.waiting > 0)).toBe(true);

      const ended = await finish(uuids);
      expect(ended.every((t) => t.status === 'complete')).toBe(true);
      // A task holds its slot from its first step to its end: at most 2 tasks of a tenant ran
      // steps at any time, and the three tenants ran side by side.
      for (const tenant of ['a', 'b', 'c']) {
        const mine = runs.filter((r) => r.tag === tenant);
        expect(mine).toHaveLength(12);
        const tasksAtOnce = peakOverlap(
          [...new Set(mine.map((r) => r.task))].map((task) => {
            const own = mine.filter((r) => r.task === task);
            return {
              task,
              tag: tenant,
              start: Math.min(...own.map((r) => r.start)),
              end: Math.max(...own.map((r) => r.end)),
            };
          }),
        );
        expect(tasksAtOnce).toBeLessThanOrEqual(2);
        expect(tasksAtOnce).toBe(2);
      }
      expect(peakOverlap(runs)).toBeGreaterThan(2);
      const after = await tasker.request<{ items: unknown[] }>(
        'GET',
        '/v1/concurrency?limit=flow.per_tenant',
      );
      expect(after.body.items).toEqual([]);
    });

    it('every step admitted while submissions race is announced', async () => {
      // Admission may start a step whose task committed after the statement that admits began:
      // what announcing it needs is read with the start, not from the statement's snapshot.
      for (let round = 0; round < 6; round++) {
        const uuids = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            tasker.submit({
              namespace: 'flow',
              name: 'burst',
              context: { tenant: i % 3 ? 'a' : 'b', round },
            }),
          ),
        );
        const ended = await finish(uuids, 15000);
        expect(ended.every((t) => t.status === 'complete')).toBe(true);
      }
    });

    it('a limit named by steps of any task is one pool; priority orders its waiters', async () => {
      // The first takes the only slot and holds it until all are submitted; the rest wait, and
      // the high priority one goes first.
      let open!: () => void;
      slowGate = new Promise((resolve) => (open = resolve));
      const blocker = await tasker.submit({
        namespace: 'flow',
        name: 'shared_api',
        context: { tag: 'blocker' },
      });
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 0,
        { description: 'the blocker to start' },
      );
      const low: string[] = [];
      for (let i = 0; i < 3; i++) {
        low.push(
          await tasker.submit({
            namespace: 'flow',
            name: 'shared_api',
            context: { tag: `low${i}` },
            priority: -10,
          }),
        );
      }
      const high = await tasker.submit({
        namespace: 'flow',
        name: 'shared_api',
        context: { tag: 'high' },
        priority: 50,
      });
      open();
      await finish([blocker, ...low, high]);
      expect(runs.map((r) => r.tag)).toEqual(['blocker', 'high', 'low0', 'low1', 'low2']);
      expect(peakOverlap(runs)).toBe(1);
    });

    it('a fair pool takes turns by tenant: one with 4 waiting alternates with those with fewer', async () => {
      let open!: () => void;
      slowGate = new Promise((resolve) => (open = resolve));
      const submit = (tenant: string, tag: string) =>
        tasker.submit({ namespace: 'flow', name: 'fair_pool', context: { tenant, tag } });
      const uuids = [await submit('x', 'blocker')];
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 0,
        { description: 'the blocker to start' },
      );
      for (let i = 0; i < 4; i++) uuids.push(await submit('a', `a${i}`));
      for (let i = 0; i < 2; i++) uuids.push(await submit('b', `b${i}`));
      uuids.push(await submit('c', 'c0'));
      open();
      await finish(uuids);
      expect(runs.map((r) => r.tag)).toEqual(['blocker', 'a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'a3']);
      expect(peakOverlap(runs)).toBe(1);
    });

    it('a rate limit spaces starts: never more than the limit in any window', async () => {
      const uuids: string[] = [];
      for (let i = 0; i < 7; i++) {
        uuids.push(
          await tasker.submit({
            namespace: 'flow',
            name: 'rated',
            context: { account: 'acme', i },
          }),
        );
      }
      const other = await tasker.submit({
        namespace: 'flow',
        name: 'rated',
        context: { account: 'other' },
      });
      await finish([...uuids, other]);
      // A start is the step's admission (pending → enqueued), in µs of the database's clock:
      // the handlers' own start times add each message's delivery, which a loaded machine
      // varies by more than 100 ms.
      const { rows } = await tasker.pool.query<{ task_uuid: string; at: string }>(
        `SELECT s.task_uuid, (extract(epoch FROM st.created_at) * 1000000)::bigint::text AS at
           FROM tasker.workflow_step_transitions st
           JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
          WHERE s.task_uuid = ANY($1::uuid[])
            AND st.from_state = 'pending' AND st.to_state = 'enqueued'
          ORDER BY st.created_at`,
        [[...uuids, other]],
      );
      const starts = rows.filter((r) => r.task_uuid !== other).map((r) => Number(r.at) / 1000);
      expect(starts).toHaveLength(7);
      expect(runs.filter((r) => r.tag === 'acme')).toHaveLength(7);
      // Starts i and i+3 are at least the period apart (the rate's log and the transition are
      // written by one statement, microseconds apart).
      for (let i = 0; i + 3 < starts.length; i++) {
        expect(starts[i + 3]! - starts[i]!).toBeGreaterThanOrEqual(999);
      }
      // Computed waits, not polling: the seventh starts soon after two periods.
      expect(starts[6]! - starts[0]!).toBeLessThan(2900);
      // Another key has its own window.
      const otherStart = Number(rows.find((r) => r.task_uuid === other)!.at) / 1000;
      expect(otherStart - starts[0]!).toBeLessThan(900);
    });

    it('cancel_newest: a task of a full key is cancelled, the running one goes on', async () => {
      let open!: () => void;
      slowGate = new Promise((resolve) => (open = resolve));
      const first = await tasker.submit({
        namespace: 'flow',
        name: 'newest_loses',
        context: { doc: 'd1' },
      });
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 0,
        { description: 'the first render to start' },
      );
      const second = await tasker.submit({
        namespace: 'flow',
        name: 'newest_loses',
        context: { doc: 'd1' },
      });
      const cancelled = await tasker.waitForStatus(second, ['cancelled', 'complete', 'error']);
      expect(cancelled.status).toBe('cancelled');
      open();
      const done = await tasker.waitForStatus(first, ['complete', 'cancelled', 'error']);
      expect(done.status).toBe('complete');
      expect(runs).toHaveLength(1);
    });

    it('a holder the staleness detector gives up frees its slot at once: the next task of a cancel_newest key runs', async () => {
      let open!: () => void;
      slowGate = new Promise((resolve) => (open = resolve));
      const stuck = await tasker.submit({
        namespace: 'flow',
        name: 'newest_loses',
        context: { doc: 'd3' },
      });
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 0,
        { description: 'the stuck render to start' },
      );
      // Far enough ahead for steps_in_process's threshold; the task moves to error.
      const given = await tasker.orchestration
        .get(StalenessDetector)
        .detect(new Date(Date.now() + 7 * 24 * 3_600_000));
      expect(given.map((g) => g.taskUuid)).toContain(stuck);
      // Its slot is free: a new task of the key is not turned away by the slot's stale row.
      const next = await tasker.submit({
        namespace: 'flow',
        name: 'newest_loses',
        context: { doc: 'd3' },
      });
      open();
      expect((await tasker.waitForStatus(next, ['complete', 'cancelled', 'error'])).status).toBe(
        'complete',
      );
    });

    it('cancel_in_progress: a new task of a full key cancels the running one and runs', async () => {
      let open!: () => void;
      slowGate = new Promise((resolve) => (open = resolve));
      const older = await tasker.submit({
        namespace: 'flow',
        name: 'latest_wins',
        context: { doc: 'd2' },
      });
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 0,
        { description: 'the first render to start' },
      );
      const newer = await tasker.submit({
        namespace: 'flow',
        name: 'latest_wins',
        context: { doc: 'd2' },
      });
      const cancelled = await tasker.waitForStatus(older, ['cancelled', 'complete', 'error']);
      expect(cancelled.status).toBe('cancelled');
      await pollUntil(
        () => Promise.resolve(runs.length),
        (n) => n > 1,
        { description: 'the newer render to start' },
      );
      open();
      expect((await tasker.waitForStatus(newer, ['complete', 'cancelled', 'error'])).status).toBe(
        'complete',
      );
    });

    it('a step with a limit of its own under a task-level one waits for both: one task per tenant, two API calls at once', async () => {
      const tenantOf = new Map<string, string>();
      for (let i = 0; i < 3; i++) {
        for (const tenant of ['a', 'b', 'c', 'd']) {
          const uuid = await tasker.submit({
            namespace: 'flow',
            name: 'per_tenant_api',
            context: { tenant, i },
          });
          tenantOf.set(uuid, tenant);
        }
      }
      const ended = await finish([...tenantOf.keys()]);
      expect(ended.every((t) => t.status === 'complete')).toBe(true);
      const calls = runs.filter((r) => r.tag === 'api');
      expect(calls).toHaveLength(12);
      // Four tenants could call at once; the API's limit lets two.
      expect(peakOverlap(calls)).toBe(2);
      // A task holds its tenant's slot from its first step to its end, its call included.
      for (const tenant of ['a', 'b', 'c', 'd']) {
        const spans = [...tenantOf].flatMap(([task, t]) => {
          if (t !== tenant) return [];
          const own = runs.filter((r) => r.task === task);
          expect(own).toHaveLength(2);
          return [
            {
              start: Math.min(...own.map((r) => r.start)),
              end: Math.max(...own.map((r) => r.end)),
            },
          ];
        });
        expect(peakOverlap(spans)).toBe(1);
      }
      for (const limit of ['flow.per_tenant_api', 'nested-api']) {
        const after = await tasker.request<{ items: unknown[] }>(
          'GET',
          `/v1/concurrency?limit=${limit}`,
        );
        expect(after.body.items).toEqual([]);
      }
    });

    it('a step waiting for its retry gives its slot up, and takes one again to run', async () => {
      const first = await tasker.submit({
        namespace: 'flow',
        name: 'flaky',
        context: { tag: 'f1' },
      });
      const second = await tasker.submit({
        namespace: 'flow',
        name: 'flaky',
        context: { tag: 'f2' },
      });
      const ended = await finish([first, second]);
      expect(ended.map((t) => t.status)).toEqual(['complete', 'complete']);
      expect(runs).toHaveLength(4);
      expect(peakOverlap(runs)).toBe(1);
      // The other task's step ran during the first one's retry wait.
      const byStart = [...runs].sort((a, b) => a.start - b.start).map((r) => r.tag);
      expect(byStart.slice(0, 2).sort()).toEqual(['f1', 'f2']);
    });
  },
);
