import { insertTaskRows, pollUntil, useDatabasePool } from '#testing';
import { findTasksDue } from './find-tasks-due.js';

describe('findTasksDue', () => {
  const db = useDatabasePool();

  /** Records the step's last announcement `agoMs` before now. */
  const stamp = (stepUuid: string, agoMs = 0) =>
    db.pool.query(
      `UPDATE tasker.workflow_steps SET announced_at = clock_timestamp() - $2 * interval '1 ms'
        WHERE workflow_step_uuid = $1`,
      [stepUuid, agoMs],
    );
  /**
   * Moves every step transition recorded so far 30 s into the past instead of waiting. The
   * table is append-only by trigger; replica mode skips triggers for this one transaction.
   */
  const ageTransitions = async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query(
        `UPDATE tasker.workflow_step_transitions SET created_at = created_at - interval '30 seconds'`,
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };

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
    await ageTransitions();
    await stamp(lost.stepUuids.a!, 30_000);
    await stamp(claimed.stepUuids.a!, 30_000);
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

describe('findTasksDue after retries that never came', () => {
  const db = useDatabasePool();

  it('finds a due retry behind more than a batch of retry times left on ended tasks and steps', async () => {
    // Before the fix, staleness (task → error) and resolve_manually left next_retry_at set:
    // every such row stayed "due" for good and the oldest filled the sweep's whole batch.
    const leftovers: [string, string][] = [
      ['error', 'waiting_for_retry'],
      ['error', 'error'],
      ['waiting_for_dependencies', 'resolved_manually'],
      ['cancelled', 'cancelled'],
    ];
    for (let i = 0; i < 104; i++) {
      const [taskState, stepState] = leftovers[i % leftovers.length]!;
      await insertTaskRows(db.pool, {
        namespace: `leftover_${i}`,
        taskState,
        steps: [{ name: 'a', state: stepState, attempts: 1, retryInSeconds: -3600 + i }],
      });
    }
    const due = await insertTaskRows(db.pool, {
      namespace: 'really_due',
      taskState: 'waiting_for_retry',
      steps: [{ name: 'a', state: 'waiting_for_retry', attempts: 1, retryInSeconds: -1 }],
    });

    expect((await findTasksDue(db.pool, 100, 60_000)).dueRetries).toEqual([due.taskUuid]);
  });

  it('never re-announces the enqueued steps of a task that ended', async () => {
    const ended = await insertTaskRows(db.pool, {
      namespace: 'ended_enqueued',
      taskState: 'error',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    const alive = await insertTaskRows(db.pool, {
      namespace: 'alive_enqueued',
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    await db.pool.query(
      `UPDATE tasker.workflow_steps SET announced_at = clock_timestamp() - interval '1 hour'
        WHERE workflow_step_uuid = ANY ($1::uuid[])`,
      [[ended.stepUuids.a, alive.stepUuids.a]],
    );
    await pollUntil(
      () => findTasksDue(db.pool, 100, 100),
      (due) => due.staleAnnouncements.includes(alive.taskUuid),
      { timeoutMs: 5000, description: 'the live task’s step to be due for re-announcing' },
    );
    expect((await findTasksDue(db.pool, 100, 100)).staleAnnouncements).toEqual([alive.taskUuid]);
  });
});
