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
