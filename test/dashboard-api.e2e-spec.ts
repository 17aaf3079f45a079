import { randomUUID } from 'node:crypto';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { TaskerHarness } from './support/tasker-harness.js';

interface TransitionRow {
  stepUuid: string;
  fromState: string | null;
  toState: string;
  createdAt: string;
}

/** The reads the dashboard adds to the API: correlation id search, a task's timeline, 304s. */
describe('dashboard reads of the /v1 API', () => {
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start();
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  it('lists only the tasks with a correlation id, and refuses an over-long one', async () => {
    const shared = `order-${randomUUID()}`;
    const first = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 11 },
      correlationId: shared,
    });
    const second = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 12 },
      correlationId: shared,
    });
    await tasker.submit({ namespace: 'examples', name: 'diamond', context: { n: 13 } });

    const page = await tasker.request<{ items: { taskUuid: string; correlationId: string }[] }>(
      'GET',
      `/v1/tasks?correlationId=${encodeURIComponent(shared)}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.items.map((t) => t.taskUuid)).toEqual([second, first]);

    const none = await tasker.request<{ items: unknown[] }>(
      'GET',
      `/v1/tasks?correlationId=nobody-${randomUUID()}&status=complete`,
    );
    expect(none.body.items).toEqual([]);
    expect((await tasker.request('GET', `/v1/tasks?correlationId=${'x'.repeat(256)}`)).status).toBe(
      400,
    );
  });

  it('lists the tasks submitted in a time range, and refuses a malformed instant', async () => {
    const before = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 31 },
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const boundary = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const after = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 32 },
    });
    const list = async (query: string) =>
      (
        await tasker.request<{ items: { taskUuid: string }[] }>(
          'GET',
          `/v1/tasks?limit=200&${query}`,
        )
      ).body.items.map((t) => t.taskUuid);
    const from = await list(`requestedFrom=${boundary}`);
    expect(from).toContain(after);
    expect(from).not.toContain(before);
    const until = await list(`requestedBefore=${boundary}`);
    expect(until).toContain(before);
    expect(until).not.toContain(after);
    expect(await list(`requestedFrom=${boundary}&requestedBefore=${boundary}`)).toEqual([]);
    expect((await tasker.request('GET', '/v1/tasks?requestedFrom=yesterday')).status).toBe(400);
  });

  it("returns every step's transitions oldest first, and 404/400 for a missing or malformed task", async () => {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 2 },
    });
    const task = await tasker.waitForStatus(taskUuid, ['complete']);
    const reply = await tasker.request<{ items: TransitionRow[] }>(
      'GET',
      `/v1/tasks/${taskUuid}/transitions`,
    );
    expect(reply.status).toBe(200);
    const byStep = new Map<string, TransitionRow[]>();
    for (const row of reply.body.items)
      byStep.set(row.stepUuid, [...(byStep.get(row.stepUuid) ?? []), row]);
    expect([...byStep.keys()].sort()).toEqual(task.steps.map((s) => s.stepUuid).sort());
    for (const rows of byStep.values()) {
      const states = rows.map((r) => r.toState);
      expect(states[0]).toBe('pending');
      expect(states).toEqual(expect.arrayContaining(['enqueued', 'in_progress']));
      expect(states.at(-1)).toBe('complete');
      // Each row continues from the previous one, in time order.
      rows.slice(1).forEach((row, i) => {
        expect(row.fromState).toBe(rows[i]!.toState);
        expect(Date.parse(row.createdAt)).toBeGreaterThanOrEqual(Date.parse(rows[i]!.createdAt));
      });
    }
    expect(Object.keys(reply.body.items[0]!).sort()).toEqual(
      ['createdAt', 'fromState', 'stepUuid', 'toState'].sort(),
    );

    expect((await tasker.request('GET', `/v1/tasks/${randomUUID()}/transitions`)).status).toBe(404);
    expect((await tasker.request('GET', '/v1/tasks/not-a-uuid/transitions')).status).toBe(400);
  });

  it('answers a conditional GET of an unchanged task with 304, so polling moves no body', async () => {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 4 },
    });
    await tasker.waitForStatus(taskUuid, ['complete']);
    for (const path of [`/v1/tasks/${taskUuid}`, `/v1/tasks/${taskUuid}/transitions`]) {
      const first = await get(`${tasker.baseUrl}${path}`);
      const etag = first.headers.etag;
      expect(first.status).toBe(200);
      expect(etag).toBeTruthy();
      const again = await get(`${tasker.baseUrl}${path}`, { 'if-none-match': etag! });
      expect(again.status).toBe(304);
      expect(again.body).toBe('');
    }
  });

  it('counts tasks by status, every status present', async () => {
    const before = await tasker.request<{ byStatus: Record<string, number>; cap: number }>(
      'GET',
      '/v1/stats/tasks',
    );
    expect(before.status).toBe(200);
    expect(before.body.cap).toBe(10000);
    expect(Object.keys(before.body.byStatus)).toHaveLength(12);
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 21 },
    });
    await tasker.waitForStatus(taskUuid, ['complete']);
    const after = await tasker.request<{ byStatus: Record<string, number> }>(
      'GET',
      '/v1/stats/tasks',
    );
    expect(after.body.byStatus.complete).toBe(before.body.byStatus.complete! + 1);
    const { rows } = await tasker.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.task_transitions WHERE most_recent AND to_state = 'complete'`,
    );
    expect(after.body.byStatus.complete).toBe(rows[0]!.n);
  });

  it('counts completions and failures per minute of the window, every minute present', async () => {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'flaky',
      context: { permanent: true },
    });
    await tasker.waitForStatus(taskUuid, ['error']);
    const reply = await tasker.request<{
      items: { minute: string; complete: number; error: number }[];
    }>('GET', '/v1/stats/finishes?minutes=60');
    expect(reply.status).toBe(200);
    const minutes = reply.body.items.map((m) => Date.parse(m.minute));
    expect(minutes).toHaveLength(60);
    minutes.slice(1).forEach((m, i) => expect(m - minutes[i]!).toBe(60_000));
    expect(minutes.at(-1)).toBeLessThanOrEqual(Date.now());
    const { rows } = await tasker.pool.query<{ complete: number; error: number }>(
      `SELECT count(*) FILTER (WHERE to_state = 'complete')::int AS complete,
              count(*) FILTER (WHERE to_state = 'error')::int AS error
         FROM tasker.task_transitions WHERE created_at >= $1`,
      [reply.body.items[0]!.minute],
    );
    const sum = (field: 'complete' | 'error') =>
      reply.body.items.reduce((total, m) => total + m[field], 0);
    expect(sum('error')).toBeGreaterThanOrEqual(1);
    expect({ complete: sum('complete'), error: sum('error') }).toEqual(rows[0]);
    for (const bad of ['0', '181', 'soon']) {
      expect((await tasker.request('GET', `/v1/stats/finishes?minutes=${bad}`)).status).toBe(400);
    }
  });

  it('reads queue depths and the next schedule fires, paused schedules left out', async () => {
    const queues = await tasker.request<{ items: { queue: string; depth: number }[] }>(
      'GET',
      '/v1/stats/queues',
    );
    expect(queues.status).toBe(200);
    expect(queues.body.items.map((q) => q.queue)).toEqual(
      expect.arrayContaining(['worker_examples_queue', 'orchestration_step_results']),
    );
    for (const q of queues.body.items) expect(Number.isInteger(q.depth)).toBe(true);

    const schedule = (expression: string, enabled: boolean) =>
      tasker.request<{ scheduleUuid: string }>('POST', '/v1/schedules', {
        namespace: 'examples',
        name: 'diamond',
        context: { n: 1 },
        kind: 'cron',
        expression,
        timezone: 'UTC',
        enabled,
      });
    const daily = (await schedule('0 3 * * *', true)).body.scheduleUuid;
    const minutely = (await schedule('* * * * *', true)).body.scheduleUuid;
    const paused = (await schedule('*/5 * * * *', false)).body.scheduleUuid;
    const fires = await tasker.request<{ items: { scheduleUuid: string; nextFireAt: string }[] }>(
      'GET',
      '/v1/stats/upcoming-fires?limit=5',
    );
    expect(fires.status).toBe(200);
    expect(fires.body.items.map((f) => f.scheduleUuid)).toEqual([minutely, daily]);
    expect(fires.body.items.map((f) => f.scheduleUuid)).not.toContain(paused);
    expect((await tasker.request('GET', '/v1/stats/upcoming-fires?limit=0')).status).toBe(400);
  });

  it('caps each status count, however many tasks there are', async () => {
    // 10,050 finished tasks written directly: the count reads at most cap + 1 index entries.
    await tasker.pool.query(
      `WITH template AS (SELECT named_task_uuid FROM tasker.named_tasks LIMIT 1),
            made AS (
              INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, correlation_id)
              SELECT template.named_task_uuid, '{}', 'bulk-' || i, 'bulk'
                FROM template, generate_series(1, 10050) AS i
              RETURNING task_uuid)
       INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, sort_key, most_recent)
       SELECT task_uuid, NULL, 'complete', 0, true FROM made`,
    );
    const counts = await tasker.request<{ byStatus: Record<string, number>; cap: number }>(
      'GET',
      '/v1/stats/tasks',
    );
    expect(counts.body.byStatus.complete).toBe(counts.body.cap + 1);
  });
});

/**
 * A GET through node:http: fetch marks a request carrying its own If-None-Match with
 * `Cache-Control: no-cache`, which makes any server answer in full. A browser revalidating
 * from its cache (the dashboard's `cache: 'no-cache'`) sends `max-age=0` instead.
 */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    }).on('error', reject);
  });
}
