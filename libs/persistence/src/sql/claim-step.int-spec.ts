import { insertTaskRows, useDatabasePool } from '#testing';
import { claimSteps } from './claim-step.js';

describe('claimSteps', () => {
  const db = useDatabasePool();
  const processor = '0190a0a0-0000-7000-8000-00000000c1a1';

  const stepState = async (stepUuid: string) =>
    (
      await db.pool.query<{ to_state: string }>(
        `SELECT to_state FROM tasker.workflow_step_transitions
          WHERE workflow_step_uuid = $1 AND most_recent`,
        [stepUuid],
      )
    ).rows[0]!.to_state;

  it('claims an enqueued step of a running task, counting the attempt', async () => {
    const { stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'claim_running',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    expect(await claimSteps(db.pool, [stepUuids.a!], processor)).toMatchObject([{ attempt: 1 }]);
    expect(await stepState(stepUuids.a!)).toBe('in_progress');
  });

  it.each(['error', 'cancelled', 'complete', 'resolved_manually'])(
    'refuses an enqueued step of a task that ended as %s, and runs nothing',
    async (taskState) => {
      const { stepUuids } = await insertTaskRows(db.pool, {
        namespace: `claim_ended_${taskState}`,
        taskState,
        steps: [{ name: 'a', state: 'enqueued' }],
      });
      expect(await claimSteps(db.pool, [stepUuids.a!], processor)).toEqual([null]);
      expect(await stepState(stepUuids.a!)).toBe('enqueued');
      const { rows } = await db.pool.query<{ attempts: number }>(
        'SELECT attempts FROM tasker.workflow_steps WHERE workflow_step_uuid = $1',
        [stepUuids.a],
      );
      expect(rows[0]!.attempts).toBe(0);
    },
  );

  it('claims a batch in one statement, answering in the order asked and a repeated uuid once', async () => {
    const running = await insertTaskRows(db.pool, {
      namespace: 'claim_batch',
      taskState: 'steps_in_process',
      steps: [
        { name: 'a', state: 'enqueued' },
        { name: 'b', state: 'enqueued' },
        { name: 'c', state: 'in_progress', attempts: 1 },
      ],
    });
    const ended = await insertTaskRows(db.pool, {
      namespace: 'claim_batch_ended',
      taskState: 'cancelled',
      steps: [{ name: 'x', state: 'enqueued' }],
    });
    const { a, b, c } = running.stepUuids;
    const missing = '0190a0a0-0000-7000-8000-0000000000ff';
    const claims = await claimSteps(
      db.pool,
      [b!, ended.stepUuids.x!, a!, c!, b!.toUpperCase(), missing],
      processor,
    );
    expect(
      claims.map((claim) => claim && { step: claim.stepName, attempt: claim.attempt }),
    ).toEqual([{ step: 'b', attempt: 1 }, null, { step: 'a', attempt: 1 }, null, null, null]);
    expect(await stepState(a!)).toBe('in_progress');
    expect(await stepState(ended.stepUuids.x!)).toBe('enqueued');
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
        WHERE workflow_step_uuid = $1 AND to_state = 'in_progress'`,
      [b],
    );
    expect(rows[0]!.n).toBe(1);
  });
});
