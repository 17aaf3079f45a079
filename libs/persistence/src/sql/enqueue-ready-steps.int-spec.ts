import { insertTaskRows, useDatabasePool } from '#testing';
import type { Queryable } from '../database.js';
import { enqueueReadyStepsOfTasks } from './enqueue-ready-steps.js';

const enqueueReadySteps = async (q: Queryable, taskUuid: string, processor: string | null) =>
  (await enqueueReadyStepsOfTasks(q, [taskUuid], processor)).get(taskUuid)!;

describe('enqueueReadyStepsOfTasks', () => {
  const db = useDatabasePool();

  async function history(stepUuid: string) {
    const { rows } = await db.pool.query<Record<string, unknown>>(
      `SELECT from_state, to_state, sort_key, most_recent, metadata, processor_uuid
         FROM tasker.workflow_step_transitions WHERE workflow_step_uuid = $1 ORDER BY sort_key`,
      [stepUuid],
    );
    return rows;
  }

  it('moves exactly the ready steps, a due retry through pending, and counts after the move', async () => {
    const processor = '0190a0a0-0000-7000-8000-00000000beef';
    const { taskUuid, stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'ready_mix',
      taskState: 'evaluating_results',
      steps: [
        { name: 'done', state: 'complete', attempts: 1 },
        { name: 'next', state: 'pending', dependsOn: ['done'] },
        { name: 'retry_due', state: 'waiting_for_retry', attempts: 1, retryInSeconds: -1 },
        { name: 'retry_later', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 600 },
        { name: 'blocked', state: 'pending', dependsOn: ['next'] },
        { name: 'failed', state: 'error', attempts: 3, maxAttempts: 3 },
      ],
    });

    const first = await enqueueReadySteps(db.pool, taskUuid, processor);
    expect(first.steps.map((s) => s.stepName).sort()).toEqual(['next', 'retry_due']);
    expect(first.steps.find((s) => s.stepName === 'next')?.stepUuid).toBe(stepUuids.next);
    expect(first.counts).toEqual({
      complete: 1,
      enqueued: 2,
      waiting_for_retry: 1,
      pending: 1,
      error: 1,
    });

    expect(await history(stepUuids.retry_due!)).toEqual([
      expect.objectContaining({ to_state: 'waiting_for_retry', sort_key: 1, most_recent: false }),
      {
        from_state: 'waiting_for_retry',
        to_state: 'pending',
        sort_key: 2,
        most_recent: false,
        metadata: { reason: 'retry_due' },
        processor_uuid: processor,
      },
      {
        from_state: 'pending',
        to_state: 'enqueued',
        sort_key: 3,
        most_recent: true,
        metadata: {},
        processor_uuid: processor,
      },
    ]);
    expect(await history(stepUuids.next!)).toEqual([
      expect.objectContaining({ to_state: 'pending', most_recent: false }),
      expect.objectContaining({
        from_state: 'pending',
        to_state: 'enqueued',
        sort_key: 2,
        most_recent: true,
      }),
    ]);
    const { rows: stamped } = await db.pool.query<{
      name: string;
      announced: boolean;
      no_retry: boolean;
    }>(
      `SELECT name, announced_at IS NOT NULL AS announced, next_retry_at IS NULL AS no_retry
         FROM tasker.workflow_steps WHERE task_uuid = $1 ORDER BY name`,
      [taskUuid],
    );
    expect(stamped.filter((r) => r.announced).map((r) => r.name)).toEqual(['next', 'retry_due']);
    expect(stamped.find((r) => r.name === 'retry_due')?.no_retry).toBe(true);
    expect(stamped.find((r) => r.name === 'retry_later')?.no_retry).toBe(false);

    // Nothing is ready any more: a second call moves nothing and counts what is there.
    const second = await enqueueReadySteps(db.pool, taskUuid, processor);
    expect(second).toEqual({ steps: [], counts: first.counts });
    expect(await history(stepUuids.next!)).toHaveLength(2);
  });

  it('reports the counts of a task with nothing left to run', async () => {
    const { taskUuid } = await insertTaskRows(db.pool, {
      namespace: 'ready_none',
      taskState: 'evaluating_results',
      steps: [
        { name: 'a', state: 'complete', attempts: 1 },
        { name: 'b', state: 'resolved_manually', attempts: 2 },
      ],
    });
    expect(await enqueueReadySteps(db.pool, taskUuid, null)).toEqual({
      steps: [],
      counts: { complete: 1, resolved_manually: 1 },
    });
  });
});
