import { request as httpRequest } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

const WRITE_KEY = 'operator-key-0123456789';
const READ_KEY = 'dashboard-key-0123456';

/** Probes and metrics are open to every deployment's monitoring. */
const PUBLIC_PATHS = new Set([
  '/health',
  '/health/live',
  '/health/ready',
  '/health/detailed',
  '/metrics',
]);

/** The dashboard's static files (apps/dashboard): they hold no data, the page reads /v1 with a key. */
const UI_ROUTES = ['/ui', '/ui/*path'];

/** Open without a key: the probes, metrics, the OpenAPI document with its UI, the dashboard. */
const isPublic = (path: string) =>
  PUBLIC_PATHS.has(path) || /^\/docs(-json|-yaml|\/.*)?$/.test(path) || UI_ROUTES.includes(path);

interface Route {
  method: string;
  path: string;
}

/**
 * With API keys configured, no route of the running app answers 2xx to a request without a key,
 * or to a write with a read key, whatever spelling of the path is used. The routes come from the
 * app's own Express route table, so a route added later is covered without touching this test.
 */
describe('API keys guard every route of the app', () => {
  let tasker: TaskerHarness;
  let routes: Route[];
  /** Path parameters filled with real identifiers, so that a bypass would reach real rows. */
  let params: Record<string, string>;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      env: { TASKER_API_KEYS: `${WRITE_KEY}:write,${READ_KEY}:read` },
    });
    routes = routeTable(tasker.orchestration as NestExpressApplication);

    const created = await send('POST', '/v1/tasks', WRITE_KEY, {
      namespace: 'examples',
      name: 'diamond',
      context: { n: 2 },
    });
    expect(created.status).toBe(201);
    const taskUuid = (JSON.parse(created.body) as { taskUuid: string }).taskUuid;
    // The task runs to the end first, so that nothing but a bypass can change a row count.
    const task = await pollUntil(
      async () =>
        JSON.parse((await send('GET', `/v1/tasks/${taskUuid}`, READ_KEY)).body) as {
          status: string;
          steps: { stepUuid: string }[];
        },
      (view) => view.status === 'complete',
      { description: 'the setup task to complete', timeoutMs: 20000 },
    );
    const schedule = await send('POST', '/v1/schedules', WRITE_KEY, scheduleBody());
    expect(schedule.status).toBe(201);
    params = {
      taskUuid,
      stepUuid: task.steps[0]!.stepUuid,
      scheduleUuid: (JSON.parse(schedule.body) as { scheduleUuid: string }).scheduleUuid,
      entryUuid: await dlqEntryFor(tasker, taskUuid),
      namespace: 'examples',
      name: 'diamond',
      version: '1.0.0',
    };
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  it('reads the route table and marks only health, metrics and the dashboard files public', () => {
    const guarded = routes.filter((r) => !isPublic(r.path));
    // The dashboard is a route of the app like any other, opened by its @PublicRoute() mark.
    expect(routes.filter((r) => UI_ROUTES.includes(r.path)).map((r) => r.method)).toContain('GET');
    // The table is real: the task, step, schedule, DLQ and template routes are all in it.
    for (const expected of [
      'POST /v1/tasks',
      'PATCH /v1/tasks/:taskUuid/steps/:stepUuid',
      'POST /v1/schedules/:scheduleUuid/run-now',
      'PATCH /v1/dlq/:entryUuid',
      'GET /v1/templates/:namespace/:name/:version',
      'GET /v1/tasks/:taskUuid/transitions',
    ]) {
      expect(guarded.map((r) => `${r.method} ${r.path}`)).toContain(expected);
    }
  });

  it('answers 401/403/404 and never 2xx without a key, with a bad key, or writing with a read key, under any spelling of the path', async () => {
    const before = await allRowCounts(tasker);
    const offenders: string[] = [];
    for (const route of routes.filter((r) => !isPublic(r.path))) {
      const path = route.path.replace(/:(\w+)/g, (_, name: string) => params[name] ?? name);
      const body = bodyFor(route);
      const keys: (string | undefined)[] = [undefined, 'not-a-key'];
      if (!['GET', 'HEAD'].includes(route.method)) keys.push(READ_KEY);
      for (const variant of pathVariants(path)) {
        for (const key of keys) {
          const reply = await send(route.method, variant, key, body);
          if (![401, 403, 404].includes(reply.status)) {
            offenders.push(
              `${route.method} ${variant} key=${key ?? 'none'} → ${reply.status} ${reply.body.slice(0, 120)}`,
            );
          }
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(await allRowCounts(tasker)).toEqual(before);
  });

  it('still lets a write key through on the canonical path', async () => {
    const reply = await send('POST', '/v1/tasks', WRITE_KEY, {
      namespace: 'examples',
      name: 'diamond',
      context: { n: 1 },
    });
    expect(reply.status).toBe(201);
  });

  it('keeps the public routes open under their canonical paths', async () => {
    for (const path of PUBLIC_PATHS) {
      if (path === '/health/detailed') continue; // may be 503 while a component warms up
      expect((await send('GET', path, undefined)).status).toBe(200);
    }
  });

  async function send(
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; body: string }> {
    const url = new URL(tasker.baseUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // node:http sends the path exactly as given (fetch would normalise dot segments and case
    // of percent-escapes away before the server sees them).
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            ...(key ? { 'x-api-key': key } : {}),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
});

/** Every method and path the app's Express router serves. */
function routeTable(app: NestExpressApplication): Route[] {
  const express = app.getHttpAdapter().getInstance() as unknown as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  const router = express.router;
  const routes: Route[] = [];
  for (const layer of router.stack) {
    if (!layer.route) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all')
        routes.push({ method: method.toUpperCase(), path: layer.route.path });
    }
  }
  return routes;
}

/** The path and spellings a lenient router or proxy might take for it. */
function pathVariants(path: string): string[] {
  const segments = path.split('/').filter(Boolean);
  const first = segments[0]!;
  const rest = segments.slice(1).join('/');
  return [
    path,
    path.toUpperCase(),
    `/${first.toUpperCase()}/${rest}`,
    `/${first}/${rest.charAt(0).toUpperCase()}${rest.slice(1)}`,
    `${path}/`,
    `/${path}`,
    path.replace(/\//g, '//'),
    `/${first}//${rest}`,
    `/%76${first.slice(1)}/${rest}`,
    `/${first}/%${rest.charCodeAt(0).toString(16)}${rest.slice(1)}`,
    `/${first}/%2F${rest}`,
    `/${first}/./${rest}`,
    `/x/../${first}/${rest}`,
    `/${first}/${rest}/.`,
    `/${first}/${rest};x=1`,
    `${path}?x=1`,
    `${path}#frag`,
  ];
}

function bodyFor(route: Route): unknown {
  if (route.method === 'GET' || route.method === 'HEAD' || route.method === 'DELETE')
    return undefined;
  if (route.path === '/v1/tasks')
    return { namespace: 'examples', name: 'diamond', context: { n: 2 } };
  if (route.path === '/v1/schedules') return scheduleBody();
  if (route.path.endsWith('/steps/:stepUuid'))
    return { action: 'resolve_manually', operator: 'eve', reason: 'bypass' };
  if (route.path.endsWith('/snooze')) return { until: '2099-01-01T00:00:00Z' };
  if (route.path === '/v1/dlq/:entryUuid') return { resolutionStatus: 'cancelled' };
  if (route.path === '/v1/schedules/:scheduleUuid') return { enabled: false };
  return {};
}

function scheduleBody() {
  return {
    namespace: 'examples',
    name: 'diamond',
    kind: 'cron',
    expression: '0 3 * * *',
    timezone: 'UTC',
    context: { n: 1 },
  };
}

/** A pending DLQ entry for the task, written as the staleness detector would. */
async function dlqEntryFor(tasker: TaskerHarness, taskUuid: string): Promise<string> {
  const { rows } = await tasker.pool.query<{ uuid: string }>(
    `INSERT INTO tasker.dlq_entries (task_uuid, reason, original_state, stuck_for_seconds,
                                     threshold_minutes, snapshot)
     VALUES ($1, 'lifetime_exceeded', 'steps_in_process', 60, 1, '{}')
     RETURNING dlq_entry_uuid AS uuid`,
    [taskUuid],
  );
  return rows[0]!.uuid;
}

/** Rows in every table of the tasker and pgmq schemas. */
async function allRowCounts(tasker: TaskerHarness): Promise<Record<string, number>> {
  const { rows: tables } = await tasker.pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
      WHERE table_schema IN ('tasker', 'pgmq') AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await tasker.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${name}`,
    );
    counts[name] = rows[0]!.n;
  }
  return counts;
}
