import { setTimeout as sleep } from 'node:timers/promises';
import { insertTaskRows, useDatabasePool } from '#testing';
import { findTasksDue } from './find-tasks-due.js';

describe('findTasksDue', () => {
  const db = useDatabasePool();

  const stamp = (stepUuid: string) =>
    db.pool.query(
      'UPDATE tasker.workflow_steps SET announced_at = clock_timestamp() WHERE workflow_step_uuid = $1',
      [stepUuid],
    );

  it('finds due retries and announcements older than the interval, and nothing else', async () => {
    const retryDue = await insertTaskRows(db.pool, {
      namespace: 'due_retry',
      taskState: 'waiting_for_retry',
      steps: [{ name: 'a', state: 'waiting_for_retry', attempts: 1, retryInSeconds: -1 }],
    });
    const retryLater = await insertTaskRows(db.pool, {
      namespace: 'due_retry_later',
      taskState: 'waiting_for_retry',
      steps: [{ name: 'a', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 600 }],
    });
    const lost = await insertTaskRows(db.pool, {
      namespace: 'due_lost',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    const reannounced = await insertTaskRows(db.pool, {
      namespace: 'due_reannounced',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    const claimed = await insertTaskRows(db.pool, {
      namespace: 'due_claimed',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'in_progress', attempts: 1 }],
    });
    await stamp(lost.stepUuids.a!);
    await stamp(claimed.stepUuids.a!);
    await sleep(300);
    // Announced again just now: its enqueued transition is old, its announcement is not.
    await stamp(reannounced.stepUuids.a!);

    const due = await findTasksDue(db.pool, 100, 200);
    expect(due.dueRetries).toEqual([retryDue.taskUuid]);
    expect(due.staleAnnouncements).toEqual([lost.taskUuid]);
    expect(due.dueRetries).not.toContain(retryLater.taskUuid);

    // A longer interval: nothing is old enough yet.
    expect((await findTasksDue(db.pool, 100, 60_000)).staleAnnouncements).toEqual([]);
  });
});
