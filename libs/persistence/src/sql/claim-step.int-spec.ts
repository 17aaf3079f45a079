import { insertTaskRows, useDatabasePool } from '#testing';
import { claimStep } from './claim-step.js';

describe('claimStep', () => {
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
    expect(await claimStep(db.pool, stepUuids.a!, processor)).toMatchObject({ attempt: 1 });
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
      expect(await claimStep(db.pool, stepUuids.a!, processor)).toBeNull();
      expect(await stepState(stepUuids.a!)).toBe('enqueued');
      const { rows } = await db.pool.query<{ attempts: number }>(
        'SELECT attempts FROM tasker.workflow_steps WHERE workflow_step_uuid = $1',
        [stepUuids.a],
      );
      expect(rows[0]!.attempts).toBe(0);
    },
  );
});
