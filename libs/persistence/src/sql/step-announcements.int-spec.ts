import { randomUUID } from 'node:crypto';
import { insertTaskRows, useDatabasePool } from '#testing';
import {
  announcementBacklog,
  confirmAnnouncements,
  recordOwedAnnouncements,
  renewAnnouncements,
  takeOverAnnouncements,
} from './step-announcements.js';

describe('the announcements outbox', () => {
  const db = useDatabasePool();
  const alive = randomUUID();
  const dead = randomUUID();
  const sweeper = randomUUID();

  /** Moves a row's lease `agoMs` into the past instead of waiting. */
  const ageLease = (stepUuid: string, agoMs: number) =>
    db.pool.query(
      `UPDATE tasker.step_announcements
          SET leased_at = clock_timestamp() - $2 * interval '1 ms',
              created_at = clock_timestamp() - $2 * interval '1 ms'
        WHERE workflow_step_uuid = $1`,
      [stepUuid, agoMs],
    );
  const owners = async () => {
    const { rows } = await db.pool.query<{ step: string; owner: string }>(
      `SELECT workflow_step_uuid AS step, owner_uuid AS owner FROM tasker.step_announcements`,
    );
    return new Map(rows.map((r) => [r.step, r.owner]));
  };

  /** The uuids of a task's steps, by name, in the order asked. */
  const names = <N extends string[]>(
    task: { stepUuids: Record<string, string> },
    ...wanted: N
  ): { [K in keyof N]: string } =>
    wanted.map((name) => task.stepUuids[name]!) as { [K in keyof N]: string };

  beforeEach(() => db.pool.query('DELETE FROM tasker.step_announcements'));

  it('takes over only expired leases of other replicas, once, and drops rows of steps no longer enqueued', async () => {
    const task = await insertTaskRows(db.pool, {
      namespace: 'owed_takeover',
      taskState: 'steps_in_process',
      steps: [
        { name: 'orphan', state: 'enqueued' },
        { name: 'fresh', state: 'enqueued' },
        { name: 'own', state: 'enqueued' },
        { name: 'claimed', state: 'in_progress', attempts: 1 },
      ],
    });
    const [orphan, fresh, own, claimed] = names(task, 'orphan', 'fresh', 'own', 'claimed');
    const of = (stepUuid: string) => ({ stepUuid, taskUuid: task.taskUuid });
    await recordOwedAnnouncements(db.pool, [of(orphan), of(claimed)], dead);
    await recordOwedAnnouncements(db.pool, [of(fresh)], alive);
    await recordOwedAnnouncements(db.pool, [of(own)], sweeper);
    for (const step of [orphan, claimed, own]) await ageLease(step, 60_000);

    expect(await announcementBacklog(db.pool)).toEqual({
      owed: 4,
      oldestAgeSeconds: expect.closeTo(60, 0) as number,
    });

    const taken = await takeOverAnnouncements(db.pool, sweeper, 30_000, 100);
    expect(taken).toEqual([
      {
        stepUuid: orphan,
        stepName: 'orphan',
        taskUuid: task.taskUuid,
        namespace: 'owed_takeover',
        correlationId: 'c',
        traceparent: null,
      },
    ]);
    // The claimed step needs no message: its row is gone. The fresh lease and the sweeper's own
    // row are left alone.
    expect(await owners()).toEqual(
      new Map([
        [orphan, sweeper],
        [fresh, alive],
        [own, sweeper],
      ]),
    );
    // The taken lease is fresh: a second sweep finds nothing more to take (a third replica
    // would only find the sweeper's own expired row).
    expect(await takeOverAnnouncements(db.pool, sweeper, 30_000, 100)).toEqual([]);
    expect(
      (await takeOverAnnouncements(db.pool, randomUUID(), 30_000, 100)).map((x) => x.stepUuid),
    ).toEqual([own]);
  });

  it('lets two sweeps running at once take disjoint rows', async () => {
    const task = await insertTaskRows(db.pool, {
      namespace: 'owed_concurrent',
      taskState: 'steps_in_process',
      steps: Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, state: 'enqueued' })),
    });
    const steps = Object.values(task.stepUuids);
    await recordOwedAnnouncements(
      db.pool,
      steps.map((stepUuid) => ({ stepUuid, taskUuid: task.taskUuid })),
      dead,
    );
    for (const step of steps) await ageLease(step, 60_000);

    const [a, b] = await Promise.all([
      takeOverAnnouncements(db.pool, randomUUID(), 30_000, 12),
      takeOverAnnouncements(db.pool, randomUUID(), 30_000, 12),
    ]);
    const takenA = a.map((x) => x.stepUuid);
    const takenB = b.map((x) => x.stepUuid);
    expect(takenA.filter((s) => takenB.includes(s))).toEqual([]);
    expect(takenA.length + takenB.length).toBe(20);
  });

  it('renews only what the replica still owns; a step taken over or confirmed is not its to send', async () => {
    const task = await insertTaskRows(db.pool, {
      namespace: 'owed_renew',
      taskState: 'steps_in_process',
      steps: [
        { name: 'kept', state: 'enqueued' },
        { name: 'stolen', state: 'enqueued' },
        { name: 'sent', state: 'enqueued' },
      ],
    });
    const [kept, stolen, sent] = names(task, 'kept', 'stolen', 'sent');
    await recordOwedAnnouncements(
      db.pool,
      [kept, stolen, sent].map((stepUuid) => ({ stepUuid, taskUuid: task.taskUuid })),
      alive,
    );
    await ageLease(stolen, 60_000);
    await ageLease(kept, 60_000);
    // `kept` would be taken too, but its owner renews first.
    expect(await renewAnnouncements(db.pool, [kept], alive)).toEqual(new Set([kept]));
    expect(
      (await takeOverAnnouncements(db.pool, sweeper, 30_000, 100)).map((x) => x.stepUuid),
    ).toEqual([stolen]);
    await confirmAnnouncements(db.pool, [sent]);

    expect(await renewAnnouncements(db.pool, [kept, stolen, sent], alive)).toEqual(new Set([kept]));
    expect(await announcementBacklog(db.pool)).toMatchObject({ owed: 2 });
  });

  it('re-recording an owed step hands it to the new owner with a fresh lease', async () => {
    const task = await insertTaskRows(db.pool, {
      namespace: 'owed_rerecord',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    const step = { stepUuid: task.stepUuids.a!, taskUuid: task.taskUuid };
    await recordOwedAnnouncements(db.pool, [step], dead);
    await ageLease(step.stepUuid, 60_000);
    await recordOwedAnnouncements(db.pool, [step], alive);
    expect(await owners()).toEqual(new Map([[step.stepUuid, alive]]));
    expect(await takeOverAnnouncements(db.pool, sweeper, 30_000, 100)).toEqual([]);
    expect(await announcementBacklog(db.pool)).toEqual({
      owed: 1,
      oldestAgeSeconds: expect.any(Number) as number,
    });
  });

  it('an empty outbox has no oldest age', async () => {
    expect(await announcementBacklog(db.pool)).toEqual({ owed: 0, oldestAgeSeconds: null });
  });
});
