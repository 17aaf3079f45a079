import type { ScheduleRunPage, ScheduleView } from '#core';
import { pollUntil } from '#testing';
import { dailyFires } from './support/daily-fires.js';
import { TaskerHarness } from './support/tasker-harness.js';

const cronSchedule = {
  namespace: 'examples',
  name: 'diamond',
  context: { n: 2 },
  kind: 'cron',
  expression: '30 2 * * *',
  timezone: 'Europe/Berlin',
};

describe('schedules over HTTP', () => {
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start();
  });

  afterAll(async () => {
    await tasker.stop();
  });

  async function counts(): Promise<{ schedules: number; runs: number; tasks: number }> {
    const { rows } = await tasker.pool.query<{ schedules: number; runs: number; tasks: number }>(
      `SELECT (SELECT count(*) FROM tasker.schedules)::int AS schedules,
              (SELECT count(*) FROM tasker.schedule_runs)::int AS runs,
              (SELECT count(*) FROM tasker.tasks)::int AS tasks`,
    );
    return rows[0]!;
  }

  async function create(body: Record<string, unknown>): Promise<ScheduleView> {
    const reply = await tasker.request<ScheduleView>('POST', '/v1/schedules', body);
    if (reply.status !== 201)
      throw new Error(`create answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  it('creates a cron schedule and shows its next five fires in its timezone', async () => {
    const before = new Date();
    const created = await create(cronSchedule);
    expect(created).toMatchObject({ kind: 'cron', enabled: true, overlap: 'allow', version: null });
    // The exact instants: 02:30 Berlin time each day (03:30 on a spring-forward day).
    expect(created.upcomingFires).toEqual(
      dailyFires({ hour: 2, minute: 30 }, 'Europe/Berlin', before, 5),
    );
    const listed = await tasker.request<{ items: ScheduleView[] }>(
      'GET',
      '/v1/schedules?namespace=examples&enabled=true',
    );
    expect(listed.body.items.map((s) => s.scheduleUuid)).toContain(created.scheduleUuid);
    const one = await tasker.request<ScheduleView>('GET', `/v1/schedules/${created.scheduleUuid}`);
    expect(one.body.nextFireAt).toBe(created.upcomingFires[0]);
  });

  it.each<[string, Record<string, unknown> | string, RegExp]>([
    ['malformed JSON', '{"kind": ', /JSON/i],
    ['an empty body', {}, /namespace/],
    ['an unknown kind', { ...cronSchedule, kind: 'weekly' }, /kind must be one of/],
    ['a bad cron', { ...cronSchedule, expression: '61 * * * *' }, /not a valid cron/],
    ['six cron fields', { ...cronSchedule, expression: '0 0 2 * * *' }, /5 fields/],
    [
      'an RRULE without DTSTART',
      { ...cronSchedule, kind: 'rrule', expression: 'RRULE:FREQ=DAILY' },
      /DTSTART/,
    ],
    ['an unknown timezone', { ...cronSchedule, timezone: 'Mars/Olympus' }, /IANA time zone/],
    ['an unknown template', { ...cronSchedule, name: 'no_such_template' }, /unknown template/],
    [
      'a context not matching input_schema',
      { ...cronSchedule, context: { n: 'x' } },
      /input_schema/,
    ],
    [
      'a one-off in the past',
      { ...cronSchedule, kind: 'once', expression: '2020-01-01T00:00:00Z' },
      /never run/,
    ],
    ['an unknown field', { ...cronSchedule, cron: '* * * * *' }, /property cron should not exist/],
    ['a negative grace', { ...cronSchedule, misfireGraceSeconds: -1 }, /misfireGraceSeconds/],
    ['an unknown overlap policy', { ...cronSchedule, overlap: 'queue' }, /overlap must be one of/],
    [
      'SQL in a name',
      { ...cronSchedule, name: "x'; DROP TABLE tasker.schedules; --" },
      /snake_case/,
    ],
  ])('refuses %s with a 400 and writes nothing', async (_case, body, message) => {
    const before = await counts();
    const reply =
      typeof body === 'string'
        ? await tasker.request('POST', '/v1/schedules', undefined, body)
        : await tasker.request('POST', '/v1/schedules', body);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(message);
    expect(await counts()).toEqual(before);
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    expect((await tasker.request('GET', '/v1/schedules/not-a-uuid')).status).toBe(400);
    const missing = await tasker.request(
      'PATCH',
      '/v1/schedules/0190a8a4-1111-7000-8000-000000000000',
      { enabled: false },
    );
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'schedule_not_found' });
  });

  it('fires a one-off schedule on time; the task records its schedule and completes', async () => {
    const at = new Date(Date.now() + 1500).toISOString();
    const schedule = await create({
      ...cronSchedule,
      kind: 'once',
      expression: at,
      timezone: 'UTC',
    });
    expect(schedule.upcomingFires).toEqual([at]);
    const runs = await pollUntil(
      async () =>
        (
          await tasker.request<ScheduleRunPage>(
            'GET',
            `/v1/schedules/${schedule.scheduleUuid}/runs`,
          )
        ).body,
      (page) => page.items.length > 0,
      { timeoutMs: 15000, description: 'the one-off schedule to fire' },
    );
    expect(runs.items).toEqual([
      expect.objectContaining({ fireAt: at, trigger: 'schedule', outcome: 'created' }),
    ]);
    const task = await tasker.waitForStatus(runs.items[0]!.taskUuid!, ['complete']);
    expect(task.schedule).toEqual({ scheduleUuid: schedule.scheduleUuid, fireAt: at });
    const after = await tasker.request<ScheduleView>(
      'GET',
      `/v1/schedules/${schedule.scheduleUuid}`,
    );
    expect(after.body).toMatchObject({ nextFireAt: null, upcomingFires: [], lastFireAt: at });
    const metrics = await (await fetch(`${tasker.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /tasker_schedule_fires_total\{namespace="examples",name="diamond",outcome="created"\} [1-9]/,
    );
    expect(metrics).toMatch(/tasker_schedule_lag_seconds_count [1-9]/);
  });

  it('runs now on demand, recorded as a manual run', async () => {
    const schedule = await create(cronSchedule);
    const reply = await tasker.request<{ taskUuid: string }>(
      'POST',
      `/v1/schedules/${schedule.scheduleUuid}/run-now`,
    );
    expect(reply.status).toBe(201);
    await tasker.waitForStatus(reply.body.taskUuid, ['complete']);
    const runs = await tasker.request<ScheduleRunPage>(
      'GET',
      `/v1/schedules/${schedule.scheduleUuid}/runs`,
    );
    expect(runs.body.items).toEqual([
      expect.objectContaining({
        trigger: 'manual',
        outcome: 'created',
        taskUuid: reply.body.taskUuid,
        taskStatus: 'complete',
      }),
    ]);
    const after = await tasker.request<ScheduleView>(
      'GET',
      `/v1/schedules/${schedule.scheduleUuid}`,
    );
    expect(after.body.nextFireAt).toBe(schedule.nextFireAt);
  });

  it('snoozes the next fire, or every fire until a time', async () => {
    const schedule = await create(cronSchedule);
    const path = `/v1/schedules/${schedule.scheduleUuid}/snooze`;
    const skipNext = await tasker.request<ScheduleView>('POST', path, {});
    expect(skipNext.status).toBe(200);
    expect(skipNext.body.nextFireAt).toBe(schedule.upcomingFires[1]);
    expect(skipNext.body.snoozedUntil).toBe(schedule.upcomingFires[0]);
    const until = schedule.upcomingFires[3]!;
    const skipUntil = await tasker.request<ScheduleView>('POST', path, { until });
    expect(skipUntil.body.nextFireAt).toBe(schedule.upcomingFires[4]);
    const bad = await tasker.request('POST', path, { until: 'next tuesday' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/until must be an ISO 8601 instant/);
  });

  it('pauses, resumes, updates with validation, and deletes', async () => {
    const schedule = await create(cronSchedule);
    const path = `/v1/schedules/${schedule.scheduleUuid}`;
    const paused = await tasker.request<ScheduleView>('PATCH', path, { enabled: false });
    expect(paused.body).toMatchObject({ enabled: false, upcomingFires: [] });
    const resumed = await tasker.request<ScheduleView>('PATCH', path, { enabled: true });
    expect(resumed.body.upcomingFires).toHaveLength(5);

    const refused = await tasker.request('PATCH', path, { expression: 'at noon' });
    expect(refused.status).toBe(400);
    const unchanged = await tasker.request<ScheduleView>('GET', path);
    expect(unchanged.body.expression).toBe('30 2 * * *');

    const weekly = await tasker.request<ScheduleView>('PATCH', path, {
      kind: 'rrule',
      expression: 'DTSTART;TZID=America/New_York:20260101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO',
      timezone: 'America/New_York',
      overlap: 'skip',
    });
    expect(weekly.status).toBe(200);
    for (const fire of weekly.body.upcomingFires) {
      const local = new Date(fire).toLocaleString('en-US', {
        timeZone: 'America/New_York',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      });
      expect(local).toBe('Mon 09:00');
    }

    expect((await tasker.request('DELETE', path)).status).toBe(204);
    expect((await tasker.request('GET', path)).status).toBe(404);
  });
});
