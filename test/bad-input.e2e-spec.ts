import { TaskerHarness } from './support/tasker-harness.js';

const UNKNOWN = '0190a8a4-1111-7000-8000-000000000000';
const SQL = "'; DROP TABLE tasker.tasks; --";

interface BadRequest {
  method: string;
  /** `{task}` and `{step}` are replaced by a real task and one of its steps. */
  path: string;
  body?: unknown;
  raw?: string;
  status: number;
  message: RegExp;
}

/**
 * Every HTTP route against malformed JSON, wrong types, oversized bodies, unknown fields,
 * invalid ids, SQL-looking strings and unicode: each gets the right 4xx with a message that
 * says what is wrong, and no table gains or loses a row.
 */
const cases: [string, BadRequest][] = [
  // POST /v1/tasks
  [
    'tasks: malformed JSON',
    { method: 'POST', path: '/v1/tasks', raw: '{"namespace":', status: 400, message: /JSON/i },
  ],
  [
    'tasks: a JSON array body',
    { method: 'POST', path: '/v1/tasks', raw: '[1,2]', status: 400, message: /namespace/ },
  ],
  [
    'tasks: wrong types',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: { namespace: 7, name: ['diamond'], context: 'n=1', priority: 'high' },
      status: 400,
      message:
        /^(?=.*namespace must be a string)(?=.*context must be a JSON object)(?=.*priority must be an integer)/s,
    },
  ],
  [
    'tasks: an unknown field',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: { namespace: 'examples', name: 'diamond', context: { n: 1 }, owner: 'x' },
      status: 400,
      message: /property owner should not exist/,
    },
  ],
  [
    'tasks: SQL in the name',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: { namespace: 'examples', name: SQL, context: { n: 1 } },
      status: 400,
      message: /snake_case/,
    },
  ],
  [
    'tasks: unicode in the namespace',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: { namespace: 'exämples', name: 'diamond', context: { n: 1 } },
      status: 400,
      message: /snake_case/,
    },
  ],
  [
    'tasks: a context the schema refuses',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: { namespace: 'examples', name: 'diamond', context: { n: '🦄' } },
      status: 400,
      message: /\/n must be integer/,
    },
  ],
  [
    'tasks: too many tags',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: {
        namespace: 'examples',
        name: 'diamond',
        context: { n: 1 },
        tags: Array.from({ length: 51 }, (_, i) => `t${i}`),
      },
      status: 400,
      message: /tags must contain no more than 50/,
    },
  ],
  [
    'tasks: a context nested 500,000 deep (just under 1 MB)',
    {
      method: 'POST',
      path: '/v1/tasks',
      raw: `{"namespace":"examples","name":"diamond","context":{"n":${'['.repeat(500_000)}${']'.repeat(500_000)}}}`,
      status: 400,
      message: /nested deeper than 64 levels/,
    },
  ],
  [
    'tasks: a context of objects nested one level too deep',
    {
      method: 'POST',
      path: '/v1/tasks',
      raw: `{"namespace":"examples","name":"diamond","context":${'{"a":'.repeat(64)}1${'}'.repeat(64)}}`,
      status: 400,
      message: /nested deeper than 64 levels/,
    },
  ],
  [
    'tasks: a context string holding U+0000, which PostgreSQL cannot store',
    {
      method: 'POST',
      path: '/v1/tasks',
      raw: '{"namespace":"examples","name":"diamond","context":{"n":1,"note":"a\\u0000b"}}',
      status: 400,
      message: /the string at \$\.context\.note contains U\+0000/,
    },
  ],
  [
    'tasks: a context key holding an unpaired surrogate',
    {
      method: 'POST',
      path: '/v1/tasks',
      raw: '{"namespace":"examples","name":"diamond","context":{"n":1,"\\ud800":2}}',
      status: 400,
      message: /unpaired surrogate/,
    },
  ],
  [
    'steps: a manual result holding U+0000',
    {
      method: 'PATCH',
      path: '/v1/tasks/{task}/steps/{step}',
      raw: '{"action":"complete_manually","operator":"op","reason":"r","result":{"v":"\\u0000"}}',
      status: 400,
      message: /the string at \$\.result\.v contains U\+0000/,
    },
  ],
  [
    'schedules: a context holding U+0000',
    {
      method: 'POST',
      path: '/v1/schedules',
      raw: '{"namespace":"examples","name":"diamond","kind":"cron","expression":"0 3 * * *","timezone":"UTC","context":{"n":"\\u0000"}}',
      status: 400,
      message: /U\+0000/,
    },
  ],
  [
    'tasks: a query string holding U+0000',
    {
      method: 'GET',
      path: '/v1/tasks?namespace=a%00b',
      status: 400,
      message: /the string at query\.namespace contains U\+0000/,
    },
  ],
  [
    'tasks: a body over 1 MB',
    {
      method: 'POST',
      path: '/v1/tasks',
      body: {
        namespace: 'examples',
        name: 'diamond',
        context: { n: 1, pad: 'x'.repeat(1_100_000) },
      },
      status: 413,
      message: /too large/i,
    },
  ],
  // GET /v1/tasks and /v1/tasks/:id
  [
    'tasks list: a bad status',
    {
      method: 'GET',
      path: '/v1/tasks?status=finished',
      status: 400,
      message: /status must be one of/,
    },
  ],
  [
    'tasks list: limit 0',
    {
      method: 'GET',
      path: '/v1/tasks?limit=0',
      status: 400,
      message: /limit must not be less than 1/,
    },
  ],
  [
    'tasks list: a non-numeric limit',
    {
      method: 'GET',
      path: '/v1/tasks?limit=ten',
      status: 400,
      message: /limit must be an integer/,
    },
  ],
  [
    'tasks list: a cursor that is no uuid',
    {
      method: 'GET',
      path: `/v1/tasks?cursor=${encodeURIComponent(SQL)}`,
      status: 400,
      message: /cursor must be a UUID/,
    },
  ],
  [
    'tasks list: an unknown parameter',
    {
      method: 'GET',
      path: '/v1/tasks?sort=asc',
      status: 400,
      message: /property sort should not exist/,
    },
  ],
  [
    'task: a malformed id',
    { method: 'GET', path: '/v1/tasks/12345', status: 400, message: /uuid is expected/ },
  ],
  [
    'task: an unknown id',
    { method: 'GET', path: `/v1/tasks/${UNKNOWN}`, status: 404, message: /does not exist/ },
  ],
  // DELETE /v1/tasks/:id
  [
    'cancel: a malformed id',
    {
      method: 'DELETE',
      path: `/v1/tasks/${encodeURIComponent(SQL)}`,
      status: 400,
      message: /uuid is expected/,
    },
  ],
  [
    'cancel: an unknown id',
    { method: 'DELETE', path: `/v1/tasks/${UNKNOWN}`, status: 404, message: /does not exist/ },
  ],
  [
    'cancel: a reason too long',
    {
      method: 'DELETE',
      path: `/v1/tasks/{task}?reason=${'r'.repeat(1001)}`,
      status: 400,
      message: /reason must be shorter than or equal to 1000/,
    },
  ],
  // steps
  [
    'step: a malformed step id',
    {
      method: 'GET',
      path: '/v1/tasks/{task}/steps/step-1',
      status: 400,
      message: /uuid is expected/,
    },
  ],
  [
    'step: a step of no such task',
    {
      method: 'GET',
      path: `/v1/tasks/${UNKNOWN}/steps/{step}`,
      status: 404,
      message: /does not exist/,
    },
  ],
  [
    'step action: malformed JSON',
    {
      method: 'PATCH',
      path: '/v1/tasks/{task}/steps/{step}',
      raw: '{action:reset}',
      status: 400,
      message: /JSON/i,
    },
  ],
  [
    'step action: wrong types',
    {
      method: 'PATCH',
      path: '/v1/tasks/{task}/steps/{step}',
      body: { action: 1, operator: true, reason: {} },
      status: 400,
      message:
        /^(?=.*action must be one of)(?=.*operator must be a string)(?=.*reason must be a string)/s,
    },
  ],
  [
    'step action: does not apply to a completed task',
    {
      method: 'PATCH',
      path: '/v1/tasks/{task}/steps/{step}',
      body: { action: 'resolve_manually', operator: 'Zoë ✓', reason: SQL },
      status: 409,
      message: /ended as complete/,
    },
  ],
  // templates
  [
    'template: unknown',
    {
      method: 'GET',
      path: `/v1/templates/examples/${encodeURIComponent(SQL)}/1.0.0`,
      status: 404,
      message: /no template/,
    },
  ],
  [
    'template: unicode name',
    {
      method: 'GET',
      path: '/v1/templates/examples/%F0%9F%A6%84/1.0.0',
      status: 404,
      message: /no template/,
    },
  ],
  // schedules
  [
    'schedules: wrong types',
    {
      method: 'POST',
      path: '/v1/schedules',
      body: {
        namespace: 'examples',
        name: 'diamond',
        context: [],
        kind: 'cron',
        expression: 5,
        timezone: null,
      },
      status: 400,
      message:
        /^(?=.*context must be a JSON object)(?=.*expression must be a string)(?=.*timezone must be a string)/s,
    },
  ],
  [
    'schedules: a timezone that is SQL',
    {
      method: 'POST',
      path: '/v1/schedules',
      body: {
        namespace: 'examples',
        name: 'diamond',
        context: { n: 1 },
        kind: 'cron',
        expression: '0 * * * *',
        timezone: SQL,
      },
      status: 400,
      message: /not an IANA time zone/,
    },
  ],
  [
    'schedules list: enabled=maybe',
    {
      method: 'GET',
      path: '/v1/schedules?enabled=maybe',
      status: 400,
      message: /enabled must be true or false/,
    },
  ],
  [
    'schedule: a malformed id',
    { method: 'POST', path: '/v1/schedules/x/run-now', status: 400, message: /uuid is expected/ },
  ],
  [
    'schedule: an unknown id',
    { method: 'DELETE', path: `/v1/schedules/${UNKNOWN}`, status: 404, message: /does not exist/ },
  ],
  [
    'schedule runs: limit 500',
    {
      method: 'GET',
      path: `/v1/schedules/${UNKNOWN}/runs?limit=500`,
      status: 400,
      message: /limit must not be greater than 200/,
    },
  ],
  // DLQ
  [
    'dlq list: an unknown reason',
    {
      method: 'GET',
      path: '/v1/dlq?reason=boredom',
      status: 400,
      message: /reason must be one of/,
    },
  ],
  [
    'dlq entry: an unknown id',
    {
      method: 'PATCH',
      path: `/v1/dlq/${UNKNOWN}`,
      body: { resolutionStatus: 'cancelled' },
      status: 404,
      message: /does not exist/,
    },
  ],
  [
    'dlq entry: notes too long',
    {
      method: 'PATCH',
      path: `/v1/dlq/${UNKNOWN}`,
      body: { resolutionStatus: 'cancelled', resolutionNotes: 'n'.repeat(4001) },
      status: 400,
      message: /resolutionNotes must be shorter/,
    },
  ],
];

describe('bad input on every route', () => {
  let tasker: TaskerHarness;
  let task: string;
  let step: string;

  beforeAll(async () => {
    tasker = await TaskerHarness.start();
    task = await tasker.submit({ namespace: 'examples', name: 'diamond', context: { n: 1 } });
    step = (await tasker.waitForStatus(task, ['complete'])).steps[0]!.stepUuid;
  });

  afterAll(async () => {
    await tasker.stop();
  });

  /** Rows in every table the API writes to. */
  async function everyRowCount(): Promise<Record<string, number>> {
    const { rows } = await tasker.pool.query<{ table_name: string; n: number }>(
      `SELECT relname AS table_name, n_live_tup::int AS n FROM pg_stat_user_tables
        WHERE schemaname = 'tasker' ORDER BY relname`,
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of rows) {
      const { rows: c } = await tasker.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasker."${table_name}"`,
      );
      counts[table_name] = c[0]!.n;
    }
    return counts;
  }

  it.each(cases)('%s', async (_label, input) => {
    const path = input.path.replace('{task}', task).replace('{step}', step);
    const before = await everyRowCount();
    const reply = await tasker.request(input.method, path, input.body, input.raw);
    expect({ status: reply.status, body: reply.body }).toMatchObject({ status: input.status });
    expect(JSON.stringify(reply.body)).toMatch(input.message);
    expect(await everyRowCount()).toEqual(before);
  });
});
