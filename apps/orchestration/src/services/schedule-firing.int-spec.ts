import { Database, ScheduleRepository, type ScheduleFields } from '#persistence';
import { useOrchestrationReplicas } from '../testing/orchestration-replicas.js';
import { ScheduleFiring } from './schedule-firing.service.js';
import { ScheduleService } from './schedule.service.js';
import { TaskCancellationService } from './task-cancellation.service.js';

/**
 * Three orchestration replicas on one database, their firing driven with a controlled clock
 * (fireDue(now)) instead of their timers, so minutes of schedule pass in milliseconds.
 */
describe('schedule firing across replicas', () => {
  const env = useOrchestrationReplicas(3);
  const { replicas } = env;
  const T0 = new Date('2031-01-06T09:00:00Z');
  const minutes = (n: number, plusMs = 0) => new Date(T0.getTime() + n * 60_000 + plusMs);

  function schedule(overrides: Partial<ScheduleFields> = {}): Promise<{ scheduleUuid: string }> {
    return replicas[0]!.get(ScheduleRepository).insert({
      namespace: 'examples',
      name: 'diamond',
      version: null,
      context: { n: 2 },
      kind: 'cron',
      expression: '* * * * *',
      timezone: 'UTC',
      misfireGraceSeconds: 60,
      overlap: 'allow',
      enabled: true,
      description: null,
      nextFireAt: T0,
      snoozedUntil: null,
      ...overrides,
    });
  }

  async function runs(scheduleUuid: string): Promise<{ fire: string; outcome: string }[]> {
    const { rows } = await env.pool.query<{ fire: string; outcome: string }>(
      `SELECT to_char(fire_at AT TIME ZONE 'UTC', 'HH24:MI') AS fire, outcome
         FROM tasker.schedule_runs WHERE schedule_uuid = $1 ORDER BY fire_at`,
      [scheduleUuid],
    );
    return rows;
  }

  it('fires each due time exactly once while three replicas race for it', async () => {
    const schedules = await Promise.all([1, 2, 3, 4, 5].map(() => schedule()));
    for (let minute = 0; minute < 8; minute++) {
      const now = minutes(minute, 500);
      // Every replica looks twice at once: six concurrent claimers per fire.
      await Promise.all(
        [...replicas, ...replicas].map((app) => app.get(ScheduleFiring).fireDue(now)),
      );
    }
    const { rows } = await env.pool.query<{ schedule_uuid: string; tasks: number; fires: number }>(
      `SELECT schedule_uuid, count(*)::int AS tasks, count(DISTINCT scheduled_fire_at)::int AS fires
         FROM tasker.tasks WHERE schedule_uuid = ANY($1) GROUP BY schedule_uuid`,
      [schedules.map((s) => s.scheduleUuid)],
    );
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row).toMatchObject({ tasks: 8, fires: 8 });
    const recorded = await runs(schedules[0]!.scheduleUuid);
    expect(recorded.map((r) => r.fire)).toEqual([
      '09:00',
      '09:01',
      '09:02',
      '09:03',
      '09:04',
      '09:05',
      '09:06',
      '09:07',
    ]);
    expect(new Set(recorded.map((r) => r.outcome))).toEqual(new Set(['created']));
  });

  it('never creates a second task for a fire that already has one', async () => {
    const { scheduleUuid } = await schedule();
    const firing = replicas[1]!.get(ScheduleFiring);
    await firing.fireDue(minutes(0, 100));
    const again = await replicas[1]!.get(Database).transaction(async (tx) => {
      const record = await replicas[1]!.get(ScheduleRepository).get(tx, scheduleUuid, true);
      return firing.createTask(tx, record, T0, 'schedule');
    });
    expect(again.created).toBeNull();
    expect(again.run.detail).toMatch(/same identity/);
    const { rows } = await env.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tasker.tasks WHERE schedule_uuid = $1',
      [scheduleUuid],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('after downtime runs the latest fire within the grace once and records the rest', async () => {
    const { scheduleUuid } = await schedule({ misfireGraceSeconds: 150 });
    // Everything was down from 09:00 until 09:05:30.
    await Promise.all(replicas.map((app) => app.get(ScheduleFiring).fireDue(minutes(5, 30_000))));
    expect(await runs(scheduleUuid)).toEqual([
      { fire: '09:00', outcome: 'misfired' },
      { fire: '09:01', outcome: 'misfired' },
      { fire: '09:02', outcome: 'misfired' },
      { fire: '09:03', outcome: 'coalesced' },
      { fire: '09:04', outcome: 'coalesced' },
      { fire: '09:05', outcome: 'created' },
    ]);
    const view = await replicas[2]!.get(ScheduleService).get(scheduleUuid);
    expect(view.nextFireAt).toBe('2031-01-06T09:06:00.000Z');
    expect(view.upcomingFires).toHaveLength(5);
  });

  it('runs nothing when every missed fire is beyond the grace', async () => {
    const { scheduleUuid } = await schedule({ misfireGraceSeconds: 0 });
    await replicas[0]!.get(ScheduleFiring).fireDue(minutes(2, 1000));
    expect((await runs(scheduleUuid)).map((r) => r.outcome)).toEqual([
      'misfired',
      'misfired',
      'misfired',
    ]);
  });

  it('skips a fire while the previous task runs when overlap is skip', async () => {
    const { scheduleUuid } = await schedule({ overlap: 'skip' });
    const firing = replicas[0]!.get(ScheduleFiring);
    await firing.fireDue(minutes(0, 100));
    // No worker runs here, so the first task is still in process a minute later.
    await firing.fireDue(minutes(1, 100));
    const { rows } = await env.pool.query<{ task_uuid: string }>(
      'SELECT task_uuid FROM tasker.tasks WHERE schedule_uuid = $1',
      [scheduleUuid],
    );
    expect(rows).toHaveLength(1);
    await replicas[0]!.get(TaskCancellationService).cancel(rows[0]!.task_uuid, 'test');
    await firing.fireDue(minutes(2, 100));
    expect(await runs(scheduleUuid)).toEqual([
      { fire: '09:00', outcome: 'created' },
      { fire: '09:01', outcome: 'skipped_overlap' },
      { fire: '09:02', outcome: 'created' },
    ]);
  });

  it('records a fire whose context no longer fits the template as failed and moves on', async () => {
    const { scheduleUuid } = await schedule({ context: { n: 'not a number' } });
    await replicas[0]!.get(ScheduleFiring).fireDue(minutes(0, 100));
    const { rows } = await env.pool.query<{ outcome: string; detail: string }>(
      'SELECT outcome, detail FROM tasker.schedule_runs WHERE schedule_uuid = $1',
      [scheduleUuid],
    );
    expect(rows).toEqual([{ outcome: 'failed', detail: expect.stringMatching(/input_schema/) }]);
    const view = await replicas[0]!.get(ScheduleService).get(scheduleUuid);
    expect(view.nextFireAt).toBe('2031-01-06T09:01:00.000Z');
  });

  it('does not fire a paused schedule, and resuming fires from now on', async () => {
    const { scheduleUuid } = await schedule();
    const service = replicas[0]!.get(ScheduleService);
    const paused = await service.update(scheduleUuid, { enabled: false });
    expect(paused.upcomingFires).toEqual([]);
    await replicas[0]!.get(ScheduleFiring).fireDue(minutes(30));
    expect(await runs(scheduleUuid)).toEqual([]);
    const before = Date.now();
    const resumed = await service.update(scheduleUuid, { enabled: true });
    expect(new Date(resumed.nextFireAt!).getTime()).toBeGreaterThan(before);
    expect(resumed.upcomingFires).toHaveLength(5);
  });
});
