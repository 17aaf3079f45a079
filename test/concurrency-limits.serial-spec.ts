import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { MessagingBackend } from '#config';
import {
  createTestDatabase,
  createTestVhost,
  pollUntil,
  type TestDatabase,
  type TestVhost,
} from '#testing';
import {
  type AppName,
  type AppProcess,
  freePort,
  startApp,
  waitReady,
} from '../scripts/support/app-process.js';
import { faultTestEnv } from './support/fault-env.js';
import { peakOverlap } from './support/overlap.js';

/**
 * Concurrency limits (migrations 0021 to 0025) on real processes: three orchestration replicas admitting
 * for the same keys at once, four workers, one of them killed with SIGKILL while its steps hold
 * slots. What a step held is read back from the append-only transition table, so the limit is
 * measured, not assumed: a step-level slot is held from the step's admission (`pending →
 * enqueued`) to the first transition out of enqueued / in_progress / awaiting its decision.
 * Serial: it runs seven app processes per backend and kills one.
 */

/** Step level: one slot per step run of a tenant, at most two at once. */
const TENANT_NAP = `
namespace: climits
name: tenant_nap
version: 1.0.0
identity_strategy: always_unique
steps:
  - name: nap
    handler: examples.sleep
    timeout_seconds: 2
    retry: { max_attempts: 4, backoff_base_ms: 100, max_backoff_ms: 500 }
    concurrency: { key: context.tenant, max_running: 2 }
`;
const TENANT_LIMIT = 'climits.tenant_nap.nap';

/** Task level, the newest task of a document wins. */
const LATEST_DOC = `
namespace: climits
name: latest_doc
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.doc, max_running: 1, strategy: cancel_in_progress }
steps:
  - name: render
    handler: examples.sleep
    timeout_seconds: 30
`;

/** One shared pool, rate-limited, whose waiting steps take turns by tenant. */
const FAIR_API = `
namespace: climits
name: fair_api
version: 1.0.0
identity_strategy: always_unique
steps:
  - name: call
    handler: examples.sleep
    timeout_seconds: 10
    concurrency:
      name: climits-api
      max_running: 1
      rate: { limit: 4, per_seconds: 1 }
      fair_by: context.tenant
`;

/** One task per tenant at a time, and a shared API that takes three calls at once. */
const TENANT_API = `
namespace: climits
name: tenant_api
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.tenant, max_running: 1 }
steps:
  - name: call
    handler: examples.sleep
    timeout_seconds: 10
    concurrency: { name: climits-shared-api, max_running: 3 }
`;

const TENANTS = 20;
const TASKS_PER_TENANT = 10;
const MAX_RUNNING = 2;

/** Transition states in which a step holds its step-level slot (migration 0021, HOLDING). */
const HOLDING_STATES = [
  'enqueued',
  'in_progress',
  'enqueued_for_orchestration',
  'enqueued_as_error_for_orchestration',
];

interface Hold {
  step: string;
  tenant: string;
  start: number;
  end: number | null;
}

interface KeyView {
  limit: string;
  key: string;
  running: number;
  waiting: number;
}

describe('concurrency limits on real processes', () => {
  let database: TestDatabase;
  let vhost: TestVhost | undefined;
  let pool: pg.Pool;
  let templates: string;
  let apps: AppProcess[];
  let replicas: AppProcess[];
  let workers: AppProcess[];
  /** Processor uuids by app name, read from the apps' log lines. */
  const workerIds = new Map<string, string>();

  async function start(
    app: AppName,
    name: string,
    backend: MessagingBackend,
    env: Record<string, string> = {},
  ): Promise<AppProcess> {
    const process = startApp(app, {
      name,
      port: await freePort(),
      env: {
        ...faultTestEnv({
          databaseUrl: database.url,
          backend,
          rabbitmqUrl: vhost?.url,
          templatePath: templates,
        }),
        ...env,
      },
      onLine: (line) => {
        const id = /"workerId":"([0-9a-f-]{36})"/.exec(line)?.[1];
        if (id && !workerIds.has(name)) workerIds.set(name, id);
      },
    });
    apps.push(process);
    await waitReady(process);
    return process;
  }

  async function submit(
    via: AppProcess,
    name: string,
    context: Record<string, unknown>,
  ): Promise<string> {
    const reply = await fetch(`${via.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'climits', name, context }),
    });
    const body = (await reply.json()) as { taskUuid: string };
    if (reply.status !== 201) {
      throw new Error(`submit to ${via.name} answered ${reply.status}: ${JSON.stringify(body)}`);
    }
    return body.taskUuid;
  }

  /**
   * 20 tenants × 10 tasks, tenant by tenant in concurrent bursts of 30 spread round-robin over
   * the three replicas: each tenant's tasks arrive at once through every replica, so the
   * replicas race to admit the same keys.
   */
  async function submitTenantRun(run: string, sleepMs: number): Promise<string[]> {
    const contexts = Array.from({ length: TENANTS * TASKS_PER_TENANT }, (_, i) => ({
      tenant: `${run}-t${Math.floor(i / TASKS_PER_TENANT)}`,
      i,
      sleepMs,
    }));
    const created: string[] = [];
    for (let i = 0; i < contexts.length; i += 30) {
      created.push(
        ...(await Promise.all(
          contexts
            .slice(i, i + 30)
            .map((context, j) =>
              submit(replicas[(i + j) % replicas.length]!, 'tenant_nap', context),
            ),
        )),
      );
    }
    return created;
  }

  async function taskStates(uuids: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await pool.query<{ task_uuid: string; state: string }>(
      `SELECT task_uuid, to_state AS state FROM tasker.task_transitions
        WHERE most_recent AND task_uuid = ANY($1::uuid[])`,
      [uuids],
    );
    return new Map(rows.map((r) => [r.task_uuid, r.state]));
  }

  /** What is left of a run that did not finish: for the failure message. */
  async function flowState(uuids: readonly string[]): Promise<string> {
    const states = await pool.query(
      `SELECT st.to_state, count(*)::int AS steps
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
        WHERE s.task_uuid = ANY($1::uuid[])
        GROUP BY 1 ORDER BY 1`,
      [uuids],
    );
    const slots = await pool.query(
      `SELECT s.limit_name, s.key, s.holder_uuid, s.acquired_at,
              (SELECT st.to_state FROM tasker.workflow_step_transitions st
                WHERE st.workflow_step_uuid = s.holder_uuid AND st.most_recent) AS holder_step_state,
              (SELECT tt.to_state FROM tasker.task_transitions tt
                WHERE tt.task_uuid = s.holder_uuid AND tt.most_recent) AS holder_task_state
         FROM tasker.concurrency_slots s ORDER BY s.limit_name, s.key`,
    );
    const waiters = await pool.query(
      `SELECT limit_name, key, count(*)::int AS waiting, min(waiting_since) AS oldest
         FROM tasker.concurrency_waiters GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const keys = await pool.query(`SELECT * FROM tasker.concurrency_keys ORDER BY 1, 2`);
    return [
      `step states: ${JSON.stringify(states.rows)}`,
      `slots: ${JSON.stringify(slots.rows)}`,
      `waiters: ${JSON.stringify(waiters.rows)}`,
      `keys: ${JSON.stringify(keys.rows)}`,
      ...apps.map((a) => a.tail(6)),
    ].join('\n');
  }

  async function allEnded(uuids: readonly string[], timeoutMs: number): Promise<void> {
    let detail = '';
    const ended = ['complete', 'error', 'cancelled', 'resolved_manually'];
    await pollUntil(
      async () => {
        const states = await taskStates(uuids);
        return uuids.filter((u) => !ended.includes(states.get(u) ?? '')).length;
      },
      (open) => open === 0,
      {
        timeoutMs,
        intervalMs: 250,
        description: () => `all ${uuids.length} tasks to end\n${detail}`,
      },
    ).catch(async (err: unknown) => {
      detail = await flowState(uuids);
      throw new Error(`${(err as Error).message}\n${detail}`);
    });
    const states = await taskStates(uuids);
    const notComplete = uuids.filter((u) => states.get(u) !== 'complete');
    if (notComplete.length > 0) {
      throw new Error(
        `${notComplete.length} tasks did not complete: ${JSON.stringify(
          notComplete.slice(0, 5).map((u) => [u, states.get(u)]),
        )}\n${await flowState(uuids)}`,
      );
    }
  }

  /**
   * Every slot hold of the tasks' steps, from the transition table: from each admission
   * (`pending → enqueued`) to the first later transition out of the holding states (null: still
   * held). Also checks that every enqueue of these steps went through admission for its tenant.
   */
  async function holdsOf(uuids: readonly string[]): Promise<Hold[]> {
    const { rows: bypassed } = await pool.query(
      `SELECT st.workflow_step_uuid, st.from_state, st.metadata, t.context ->> 'tenant' AS tenant
         FROM tasker.workflow_step_transitions st
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
         JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
        WHERE t.task_uuid = ANY($1::uuid[]) AND st.to_state = 'enqueued'
          AND st.from_state IS DISTINCT FROM 'in_progress'
          AND (st.from_state IS DISTINCT FROM 'pending'
               OR st.metadata ->> 'limit' IS DISTINCT FROM $2
               OR st.metadata ->> 'key' IS DISTINCT FROM t.context ->> 'tenant')`,
      [uuids, TENANT_LIMIT],
    );
    expect(bypassed).toEqual([]);
    return admissionHolds(uuids);
  }

  /**
   * Each admission of the tasks' steps (`pending → enqueued`) as a hold, from the admission to
   * the first later transition out of the holding states (null: still held), oldest first.
   */
  async function admissionHolds(uuids: readonly string[]): Promise<Hold[]> {
    const { rows } = await pool.query<{
      step: string;
      tenant: string;
      start: string;
      end: string | null;
    }>(
      `SELECT a.workflow_step_uuid AS step, t.context ->> 'tenant' AS tenant,
              (extract(epoch FROM a.created_at) * 1000000)::bigint::text AS start,
              (SELECT (extract(epoch FROM b.created_at) * 1000000)::bigint::text
                 FROM tasker.workflow_step_transitions b
                WHERE b.workflow_step_uuid = a.workflow_step_uuid AND b.sort_key > a.sort_key
                  AND b.to_state <> ALL ($2::text[])
                ORDER BY b.sort_key LIMIT 1) AS end
         FROM tasker.workflow_step_transitions a
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = a.workflow_step_uuid
         JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
        WHERE t.task_uuid = ANY($1::uuid[])
          AND a.from_state = 'pending' AND a.to_state = 'enqueued'
        ORDER BY a.created_at`,
      [uuids, HOLDING_STATES],
    );
    // Microseconds since the epoch: exact, so touching ends and starts compare as they were.
    return rows.map((r) => ({
      step: r.step,
      tenant: r.tenant,
      start: Number(r.start),
      end: r.end === null ? null : Number(r.end),
    }));
  }

  /** Peak slot holds per tenant (at most max_running), with the proof that steps waited. */
  async function expectTenantLimitKept(uuids: readonly string[]): Promise<{
    peaks: Map<string, number>;
    demand: Map<string, number>;
  }> {
    const holds = await holdsOf(uuids);
    expect(holds.filter((h) => h.end === null)).toEqual([]);
    // Every task's one step was admitted at least once.
    expect(new Set(holds.map((h) => h.step)).size).toBe(uuids.length);
    const peaks = new Map<string, number>();
    for (const tenant of new Set(holds.map((h) => h.tenant))) {
      peaks.set(tenant, peakOverlap(holds.filter((h) => h.tenant === tenant)));
    }
    expect(peaks.size).toBe(TENANTS);
    const over = [...peaks].filter(([, peak]) => peak > MAX_RUNNING);
    if (over.length > 0) {
      const [tenant] = over[0]!;
      const mine = holds
        .filter((h) => h.tenant === tenant)
        .sort((a, b) => a.start - b.start)
        .map((h) => `${h.step} ${h.start}..${h.end}`);
      throw new Error(
        `limit exceeded: ${JSON.stringify(over)}; holds of ${tenant}:\n${mine.join('\n')}`,
      );
    }
    // Not vacuous: every tenant had more steps ready at once than it may run (each tenant's
    // ten tasks are submitted together), used both its slots, and tenants ran side by side.
    const demand = await demandPeaks(uuids);
    expect([...demand].filter(([, d]) => d <= MAX_RUNNING)).toEqual([]);
    expect([...peaks].filter(([, peak]) => peak !== MAX_RUNNING)).toEqual([]);
    expect(peakOverlap(holds)).toBeGreaterThan(2 * MAX_RUNNING);
    return { peaks, demand };
  }

  /**
   * Per tenant, the most steps that wanted to run at once: ready (their first `pending`) and
   * not yet complete. Above max_running, the limit made the rest wait.
   */
  async function demandPeaks(uuids: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await pool.query<{ tenant: string; start: string; end: string }>(
      `SELECT t.context ->> 'tenant' AS tenant,
              (SELECT (extract(epoch FROM min(st.created_at)) * 1000000)::bigint::text
                 FROM tasker.workflow_step_transitions st
                WHERE st.workflow_step_uuid = s.workflow_step_uuid AND st.to_state = 'pending')
                AS start,
              (SELECT (extract(epoch FROM min(st.created_at)) * 1000000)::bigint::text
                 FROM tasker.workflow_step_transitions st
                WHERE st.workflow_step_uuid = s.workflow_step_uuid AND st.to_state = 'complete')
                AS end
         FROM tasker.workflow_steps s JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
        WHERE t.task_uuid = ANY($1::uuid[])`,
      [uuids],
    );
    const spans = rows.map((r) => ({
      tenant: r.tenant,
      start: Number(r.start),
      end: Number(r.end),
    }));
    return new Map(
      [...new Set(spans.map((w) => w.tenant))].map((tenant) => [
        tenant,
        peakOverlap(spans.filter((w) => w.tenant === tenant)),
      ]),
    );
  }

  async function concurrencyViews(): Promise<KeyView[][]> {
    return Promise.all(
      replicas.map(async (replica) => {
        const reply = await fetch(`${replica.url}/v1/concurrency?max=1000`);
        if (reply.status !== 200) throw new Error(`GET /v1/concurrency answered ${reply.status}`);
        return ((await reply.json()) as { items: KeyView[] }).items;
      }),
    );
  }

  /** Samples GET /v1/concurrency on every replica until stopped: the most running seen. */
  function sampleConcurrency(): { stop: () => Promise<{ maxRunning: number; waits: number }> } {
    let stopped = false;
    let maxRunning = 0;
    let waits = 0;
    const loop = (async () => {
      while (!stopped) {
        for (const items of await concurrencyViews().catch(() => [])) {
          for (const item of items.filter((k) => k.limit === TENANT_LIMIT)) {
            maxRunning = Math.max(maxRunning, item.running);
            if (item.waiting > 0) waits++;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return { maxRunning, waits };
      },
    };
  }

  describe.each<MessagingBackend>(['pgmq', 'rabbitmq'])('on %s', (backend) => {
    beforeAll(async () => {
      const began = Date.now();
      database = await createTestDatabase();
      vhost = backend === 'rabbitmq' ? await createTestVhost() : undefined;
      pool = new pg.Pool({ connectionString: database.url, max: 3 });
      templates = await mkdtemp(join(tmpdir(), 'tasker-climits-'));
      await writeFile(join(templates, 'tenant-nap.yaml'), TENANT_NAP);
      await writeFile(join(templates, 'latest-doc.yaml'), LATEST_DOC);
      await writeFile(join(templates, 'fair-api.yaml'), FAIR_API);
      await writeFile(join(templates, 'tenant-api.yaml'), TENANT_API);
      apps = [];
      workerIds.clear();
      // The first replica migrates and registers alone; the rest start together.
      const first = await start('orchestration', 'orchestration-a', backend);
      const rest = await Promise.all([
        start('orchestration', 'orchestration-b', backend),
        start('orchestration', 'orchestration-c', backend),
        ...[1, 2, 3, 4].map((n) => start('worker', `worker-${n}`, backend)),
      ]);
      replicas = [first, ...rest.slice(0, 2)];
      workers = rest.slice(2);
      process.stdout.write(`${backend}: 3 replicas and 4 workers up in ${Date.now() - began} ms\n`);
    }, 120000);

    afterAll(async () => {
      const codes = await Promise.all(apps.map((app) => app.stop()));
      await pool?.end();
      await database?.drop();
      await vhost?.drop();
      await rm(templates, { recursive: true, force: true });
      // Every process still running at the end stopped cleanly on SIGTERM.
      expect(codes).toEqual(apps.map(() => 0));
    }, 60000);

    it('three replicas admitting for 20 tenants at once never let a tenant run more than max_running steps', async () => {
      const began = Date.now();
      const sampler = sampleConcurrency();
      const uuids = await submitTenantRun('run1', 150);
      await allEnded(uuids, 90000).finally(() => sampler.stop());
      const sampled = await sampler.stop();
      const { peaks, demand } = await expectTenantLimitKept(uuids);
      process.stdout.write(
        `${backend}: ${uuids.length} tasks over ${TENANTS} tenants in ${Date.now() - began} ms; ` +
          `most slots held at once per tenant ${Math.min(...peaks.values())}–${Math.max(...peaks.values())}; ` +
          `most ready at once per tenant ${Math.min(...demand.values())}–${Math.max(...demand.values())}; /v1/concurrency saw running ≤ ${sampled.maxRunning}, waiting in ${sampled.waits} samples\n`,
      );
      expect(sampled.maxRunning).toBeLessThanOrEqual(MAX_RUNNING);
      // Three replicas admitted: each wrote some of the admissions.
      const { rows: admitters } = await pool.query<{ n: number }>(
        `SELECT count(DISTINCT st.processor_uuid)::int AS n
           FROM tasker.workflow_step_transitions st
           JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
          WHERE s.task_uuid = ANY($1::uuid[]) AND st.from_state = 'pending'
            AND st.to_state = 'enqueued'`,
        [uuids],
      );
      expect(admitters[0]!.n).toBe(3);
      for (const items of await concurrencyViews()) expect(items).toEqual([]);
    }, 120000);

    it('a worker killed with SIGKILL while holding slots: the slots come back, every task completes, the limit holds throughout', async () => {
      const began = Date.now();
      const doomed = workers[0]!;
      const doomedId = workerIds.get(doomed.name);
      if (!doomedId) throw new Error(`no workerId in ${doomed.name}'s log lines\n${doomed.tail()}`);
      const uuids = await submitTenantRun('run2', 400);
      // Runs of the doomed worker started within the last 100 ms: each has 300 ms to go.
      const freshRunsOfDoomed = async () =>
        (
          await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM tasker.workflow_step_transitions st
               JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
              WHERE s.task_uuid = ANY($1::uuid[]) AND st.most_recent
                AND st.to_state = 'in_progress' AND st.processor_uuid = $2
                AND st.created_at > clock_timestamp() - interval '100 milliseconds'`,
            [uuids, doomedId],
          )
        ).rows[0]!.n;
      const held = await pollUntil(freshRunsOfDoomed, (n) => n >= 2, {
        timeoutMs: 30000,
        intervalMs: 10,
        description: `${doomed.name} to be starting runs`,
      });
      doomed.child.kill('SIGKILL');
      apps.splice(apps.indexOf(doomed), 1);
      const killedAt = Date.now() - began;

      await allEnded(uuids, 90000);
      await expectTenantLimitKept(uuids);
      // The kill cut runs short: their attempts were recorded lost and retried elsewhere.
      const { rows: lost } = await pool.query<{ n: number }>(
        `SELECT count(DISTINCT s.workflow_step_uuid)::int AS n
           FROM tasker.workflow_steps s
           JOIN tasker.workflow_step_transitions st ON st.workflow_step_uuid = s.workflow_step_uuid
          WHERE s.task_uuid = ANY($1::uuid[]) AND s.attempts > 1
            AND st.to_state = 'in_progress' AND st.processor_uuid = $2`,
        [uuids, doomedId],
      );
      expect(lost[0]!.n).toBeGreaterThanOrEqual(2);
      // Each retry of a lost run waited for a slot again: admitted once per run.
      const { rows: readmitted } = await pool.query<{
        step: string;
        runs: number;
        admissions: number;
      }>(
        `SELECT s.workflow_step_uuid AS step, s.attempts AS runs,
                (SELECT count(*)::int FROM tasker.workflow_step_transitions a
                  WHERE a.workflow_step_uuid = s.workflow_step_uuid
                    AND a.from_state = 'pending' AND a.to_state = 'enqueued') AS admissions
           FROM tasker.workflow_steps s
          WHERE s.task_uuid = ANY($1::uuid[]) AND s.attempts > 1`,
        [uuids],
      );
      expect(readmitted.filter((r) => r.admissions !== r.runs)).toEqual([]);
      // Nothing is left running or waiting, on any replica's view.
      await pollUntil(concurrencyViews, (views) => views.every((items) => items.length === 0), {
        timeoutMs: 10000,
        description: 'GET /v1/concurrency to list no key',
      });
      const { rows: waiters } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasker.concurrency_waiters`,
      );
      expect(waiters[0]!.n).toBe(0);
      process.stdout.write(
        `${backend}: killed ${doomed.name} with ${held} runs just started at ${killedAt} ms; ` +
          `${lost[0]!.n} lost runs retried; all ${uuids.length} tasks complete at ${Date.now() - began} ms\n`,
      );
    }, 150000);

    it('a rate-limited fair pool across replicas: one at a time, at most 4 starts a second, tenants take turns', async () => {
      // Tenant a's eight tasks arrive first, then b's three, spread over the replicas; each
      // group at once, so b's arrive while most of a's wait for the rate.
      const submitAll = (tenant: string, count: number) =>
        Promise.all(
          Array.from({ length: count }, (_, i) =>
            submit(replicas[i % replicas.length]!, 'fair_api', { tenant, sleepMs: 50 }),
          ),
        );
      const uuids = [
        ...(await submitAll(`${backend}-a`, 8)),
        ...(await submitAll(`${backend}-b`, 3)),
      ];
      await allEnded(uuids, 30000);
      const starts = await admissionHolds(uuids);
      expect(starts.filter((h) => h.end === null)).toEqual([]);
      expect(starts).toHaveLength(uuids.length);
      expect(peakOverlap(starts)).toBe(1);
      // Any five consecutive starts span the window (µs of the database's clock; a start's
      // transition and its entry in the rate's log are written by one statement, a few µs apart).
      for (let i = 0; i + 4 < starts.length; i++) {
        expect(starts[i + 4]!.start - starts[i]!.start).toBeGreaterThanOrEqual(999000);
      }
      // In arrival order b's three would start last; taking turns, the last two starts are a's.
      const order = starts.map((r) => (r.tenant.endsWith('-a') ? 'a' : 'b'));
      expect(order.slice(-2)).toEqual(['a', 'a']);
      expect(order.filter((t) => t === 'b')).toHaveLength(3);
      process.stdout.write(`${backend}: fair pool start order ${order.join('')}\n`);
    }, 60000);

    it('a step limit under a task-level one across replicas: one task per tenant, three API calls at once', async () => {
      // Six tenants' four tasks each, spread over the replicas: six calls could run at once.
      const uuids = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          submit(replicas[i % replicas.length]!, 'tenant_api', {
            tenant: `${backend}-api-t${i % 6}`,
            sleepMs: 100,
          }),
        ),
      );
      await allEnded(uuids, 60000);
      // Every call started through the API's limit, after its task took its tenant's slot.
      const { rows: starts } = await pool.query<{ metadata: { limit?: string } }>(
        `SELECT st.metadata FROM tasker.workflow_step_transitions st
           JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
          WHERE s.task_uuid = ANY($1::uuid[]) AND st.to_state = 'enqueued'`,
        [uuids],
      );
      expect(starts).toHaveLength(uuids.length);
      expect(starts.filter((r) => r.metadata.limit !== 'climits-shared-api')).toEqual([]);
      const holds = await admissionHolds(uuids);
      expect(holds.filter((h) => h.end === null)).toEqual([]);
      expect(peakOverlap(holds)).toBe(3);
      for (let t = 0; t < 6; t++) {
        expect(peakOverlap(holds.filter((h) => h.tenant === `${backend}-api-t${t}`))).toBe(1);
      }
      await pollUntil(concurrencyViews, (views) => views.every((items) => items.length === 0), {
        timeoutMs: 10000,
        description: 'GET /v1/concurrency to list no key',
      });
    }, 90000);

    it('cancel_in_progress across replicas: a newer task of a document submitted on another replica cancels the running one and completes', async () => {
      const doc = `doc-${backend}`;
      const [replicaA, replicaB] = replicas;
      const older = await submit(replicaA!, 'latest_doc', { doc, sleepMs: 10000 });
      const olderRunning = () =>
        pool
          .query<{ state: string }>(
            `SELECT st.to_state AS state FROM tasker.workflow_steps s
               JOIN tasker.workflow_step_transitions st
                 ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
              WHERE s.task_uuid = $1`,
            [older],
          )
          .then((r) => r.rows[0]?.state);
      await pollUntil(olderRunning, (state) => state === 'in_progress', {
        timeoutMs: 20000,
        intervalMs: 20,
        description: 'the older render to be running',
      });
      const newer = await submit(replicaB!, 'latest_doc', { doc, sleepMs: 100 });

      const ended = ['complete', 'error', 'cancelled', 'resolved_manually'];
      const states = await pollUntil(
        () => taskStates([older, newer]),
        (s) => ended.includes(s.get(older) ?? '') && ended.includes(s.get(newer) ?? ''),
        {
          timeoutMs: 20000,
          intervalMs: 50,
          description: 'both tasks to end',
        },
      ).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${await flowState([older, newer])}`);
      });
      expect({ older: states.get(older), newer: states.get(newer) }).toEqual({
        older: 'cancelled',
        newer: 'complete',
      });
      const { rows: steps } = await pool.query<{
        task_uuid: string;
        state: string;
        attempts: number;
        completions: number;
      }>(
        `SELECT s.task_uuid, st.to_state AS state, s.attempts,
                (SELECT count(*)::int FROM tasker.workflow_step_transitions c
                  WHERE c.workflow_step_uuid = s.workflow_step_uuid AND c.to_state = 'complete')
                  AS completions
           FROM tasker.workflow_steps s
           JOIN tasker.workflow_step_transitions st
             ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
          WHERE s.task_uuid = ANY($1::uuid[])`,
        [[older, newer]],
      );
      const byTask = new Map(steps.map((s) => [s.task_uuid, s]));
      // The older run was cut off by the cancellation (its result is never recorded); the newer
      // one ran once, under the slot the older task gave up.
      expect(byTask.get(older)).toMatchObject({ state: 'cancelled', completions: 0 });
      expect(byTask.get(newer)).toMatchObject({ state: 'complete', attempts: 1, completions: 1 });
      await pollUntil(concurrencyViews, (views) => views.every((items) => items.length === 0), {
        timeoutMs: 10000,
        description: 'GET /v1/concurrency to list no key',
      });
    }, 60000);
  });
});
