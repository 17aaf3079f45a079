import {
  TaskerClient,
  TaskerConnectionError,
  TaskerRequestError,
  TaskerWaitTimeoutError,
} from '#client';
import { freePort } from '../scripts/support/app-process.js';
import { TaskerHarness } from './support/tasker-harness.js';

const WRITE_KEY = 'client-write-key-0123456789';
const READ_KEY = 'client-read-key-0123456789';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/**
 * tasker/client against a running orchestration and worker (real PostgreSQL, PGMQ): every group
 * of the API, the errors it maps replies to, and waiting for a task.
 */
describe('TaskerClient against orchestration', () => {
  let tasker: TaskerHarness;
  let client: TaskerClient;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      env: { TASKER_API_KEYS: `${WRITE_KEY}:write,${READ_KEY}:read` },
    });
    client = new TaskerClient({ baseUrl: tasker.baseUrl, apiKey: WRITE_KEY });
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  it('creates a task and waits for it: the diamond of 3 ends with 162', async () => {
    const readings: string[] = [];
    const task = await client.tasks.createAndWait(
      { namespace: 'examples', name: 'diamond', context: { n: 3 }, correlationId: 'client-e2e' },
      { timeoutMs: 20_000, pollIntervalMs: 50, onReading: (t) => readings.push(t.status) },
    );
    expect(task.status).toBe('complete');
    expect(task.steps.find((s) => s.name === 'end')?.result).toEqual({ value: 162 });
    expect(readings.at(-1)).toBe('complete');

    const page = await client.tasks.list({ correlationId: 'client-e2e', limit: 5 });
    expect(page.items.map((t) => t.taskUuid)).toEqual([task.taskUuid]);
    const { items } = await client.tasks.transitions(task.taskUuid);
    expect(items.filter((t) => t.toState === 'complete')).toHaveLength(4);

    const end = task.steps.find((s) => s.name === 'end')!;
    const step = await client.steps.get(task.taskUuid, end.stepUuid);
    expect(step.transitions.at(-1)?.toState).toBe('complete');
    // A completed task refuses step actions: a 409 with the domain code.
    const refused = await rejection(
      client.steps.act(task.taskUuid, end.stepUuid, {
        action: 'resolve_manually',
        operator: 'client-e2e',
        reason: 'already done',
      }),
    );
    expect(refused).toBeInstanceOf(TaskerRequestError);
    expect(refused).toMatchObject({ status: 409, code: 'conflict' });
  });

  it('gives up waiting with the last reading, and cancels the task', async () => {
    const submitted = await client.tasks.create({
      namespace: 'examples',
      name: 'sleep',
      context: { sleepMs: 20_000 },
    });
    const timedOut = await rejection(
      client.tasks.waitFor(submitted.taskUuid, { timeoutMs: 300, pollIntervalMs: 50 }),
    );
    expect(timedOut).toBeInstanceOf(TaskerWaitTimeoutError);
    expect((timedOut as TaskerWaitTimeoutError).task.taskUuid).toBe(submitted.taskUuid);
    const cancelled = await client.tasks.cancel(submitted.taskUuid, 'client test');
    expect(cancelled).toMatchObject({ taskUuid: submitted.taskUuid, status: 'cancelled' });
    expect((await client.tasks.get(submitted.taskUuid)).status).toBe('cancelled');
  });

  it('reads templates', async () => {
    const { items } = await client.templates.list();
    expect(items.map((t) => `${t.namespace}/${t.name}`)).toContain('examples/diamond');
    const diamond = await client.templates.get('examples', 'diamond', '1.0.0');
    expect(diamond.steps.map((s) => s.name)).toEqual(['start', 'left', 'right', 'end']);
    const missing = await rejection(client.templates.get('examples', 'nope', '1.0.0'));
    expect(missing).toMatchObject({ status: 404, code: 'template_not_found' });
  });

  it('manages a schedule from creation to deletion', async () => {
    const created = await client.schedules.create({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 4 },
      kind: 'cron',
      expression: '30 2 * * *',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
    });
    expect(created.upcomingFires).toHaveLength(5);
    const id = created.scheduleUuid;
    expect(
      (await client.schedules.list({ enabled: true })).items.map((s) => s.scheduleUuid),
    ).toContain(id);
    expect((await client.schedules.get(id)).expression).toBe('30 2 * * *');
    const paused = await client.schedules.update(id, { enabled: false });
    expect(paused).toMatchObject({ enabled: false, upcomingFires: [] });
    await client.schedules.update(id, { enabled: true });
    const snoozed = await client.schedules.snooze(id);
    expect(snoozed.snoozedUntil).not.toBeNull();
    const run = await client.schedules.runNow(id);
    expect(run.scheduleUuid).toBe(id);
    const runs = await client.schedules.runs(id, { limit: 10 });
    expect(runs.items).toEqual([
      expect.objectContaining({ trigger: 'manual', outcome: 'created', taskUuid: run.taskUuid }),
    ]);
    const upcoming = await client.stats.upcomingFires(5);
    expect(upcoming.items.map((f) => f.scheduleUuid)).toContain(id);
    await expect(client.schedules.delete(id)).resolves.toBeUndefined();
    expect(await rejection(client.schedules.get(id))).toMatchObject({
      status: 404,
      code: 'schedule_not_found',
    });
  });

  it('reads the DLQ and the stats', async () => {
    expect(await client.dlq.list({ status: 'pending' })).toEqual({ items: [], nextCursor: null });
    expect(await client.dlq.stats()).toMatchObject({ total: 0, oldestPendingSeconds: null });
    const missing = await rejection(client.dlq.get('0191c0de-0000-7000-8000-000000000000'));
    expect(missing).toMatchObject({ status: 404, code: 'dlq_entry_not_found' });
    const counts = await client.stats.tasks();
    expect(counts.byStatus.complete).toBeGreaterThanOrEqual(1);
    expect((await client.stats.finishes(10)).items.length).toBeGreaterThan(0);
    const { items: queues } = await client.stats.queues();
    expect(queues.map((q) => q.queue)).toContain('orchestration_step_results');
    expect(await client.stats.concurrency()).toEqual({ items: [] });
    expect(await rejection(client.stats.concurrency({ max: 0 }))).toMatchObject({ status: 400 });
  });

  it('maps refusals and an unreachable API to their error classes', async () => {
    const anonymous = new TaskerClient({ baseUrl: tasker.baseUrl });
    expect(await rejection(anonymous.tasks.list())).toMatchObject({ status: 401 });
    const reader = new TaskerClient({ baseUrl: tasker.baseUrl, apiKey: READ_KEY });
    await expect(reader.tasks.list({ limit: 1 })).resolves.toMatchObject({
      items: expect.any(Array),
    });
    expect(
      await rejection(reader.tasks.cancel('0191c0de-0000-7000-8000-000000000000')),
    ).toMatchObject({ status: 403 });
    const invalid = await rejection(
      client.tasks.create({ namespace: 'Bad Name', name: 'x', context: {} }),
    );
    expect(invalid).toBeInstanceOf(TaskerRequestError);
    expect((invalid as TaskerRequestError).body?.message).toEqual([
      'namespace must be snake_case (a-z, 0-9, _)',
    ]);
    const nowhere = new TaskerClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    const unreachable = await rejection(nowhere.tasks.list());
    expect(unreachable).toBeInstanceOf(TaskerConnectionError);
    expect((unreachable as Error).message).toMatch(/connection refused/);
  });
});
