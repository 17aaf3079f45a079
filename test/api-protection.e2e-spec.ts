import { pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

const WRITE_KEY = 'operator-key-0123456789';
const READ_KEY = 'dashboard-key-0123456';

/** API keys with scopes, backpressure on a backed-up namespace, and the request size limit. */
describe('API protection', () => {
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      env: {
        TASKER_API_KEYS: `${WRITE_KEY}:write,${READ_KEY}:read`,
        TASKER_MAX_QUEUE_DEPTH: '2',
      },
    });
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  const call = (method: string, path: string, key?: string, body?: string) =>
    fetch(`${tasker.baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { 'x-api-key': key } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body,
    });
  const task = (n: number) =>
    JSON.stringify({ namespace: 'examples', name: 'sleep', context: { sleepMs: n } });

  it('answers 401 without a key or with an unknown one, and names the header', async () => {
    const missing = await call('GET', '/v1/tasks');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { message: string }).message).toMatch(/X-API-Key/);
    expect((await call('GET', '/v1/tasks', `${WRITE_KEY}x`)).status).toBe(401);
    expect((await call('GET', '/v1/templates', 'x'.repeat(23))).status).toBe(401);
  });

  it('lets a read key read but not write (403), and a write key do both', async () => {
    expect((await call('GET', '/v1/tasks', READ_KEY)).status).toBe(200);
    const before = await tasker.rowCounts();
    expect((await call('POST', '/v1/tasks', READ_KEY, task(0))).status).toBe(403);
    expect(await tasker.rowCounts()).toEqual(before);
    expect((await call('POST', '/v1/tasks', WRITE_KEY, task(0))).status).toBe(201);
    expect((await call('GET', '/v1/tasks', WRITE_KEY)).status).toBe(200);
  });

  it('keeps health, metrics and the API docs open', async () => {
    for (const path of ['/health/ready', '/health/live', '/metrics', '/docs']) {
      expect((await call('GET', path)).status).toBe(200);
    }
  });

  it('answers 413 for a body over the limit, writing nothing', async () => {
    const before = await tasker.rowCounts();
    const huge = JSON.stringify({
      namespace: 'examples',
      name: 'sleep',
      context: { sleepMs: 0, padding: 'x'.repeat(2 * 1024 * 1024) },
    });
    expect((await call('POST', '/v1/tasks', WRITE_KEY, huge)).status).toBe(413);
    expect(await tasker.rowCounts()).toEqual(before);
  });

  it('answers 503 with Retry-After while the namespace queue is over its limit', async () => {
    // Without a worker the queue only grows.
    await tasker.worker.close();
    for (let i = 0; i < 3; i++) {
      expect((await call('POST', '/v1/tasks', WRITE_KEY, task(1))).status).toBe(201);
    }
    // Depth readings are reused for a few seconds: submissions pass until the next reading.
    const refused = await pollUntil(
      () => call('POST', '/v1/tasks', WRITE_KEY, task(1)),
      (reply) => reply.status !== 201,
      { intervalMs: 250, description: 'a submission to be refused' },
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { message: string }).message).toMatch(
      /namespace examples has \d+ steps waiting \(limit 2\)/,
    );
  });
});
