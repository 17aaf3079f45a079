import { insertTaskRows, useDatabasePool } from '#testing';
import { transitionSteps } from './transition-steps.js';
import { transitionTask } from './transition-task.js';

describe('transitionTask and transitionSteps on the steps they leave behind', () => {
  const db = useDatabasePool();
  const processor = '0190a0a0-0000-7000-8000-00000000e4d5';

  async function steps(taskUuid: string) {
    const { rows } = await db.pool.query<{
      name: string;
      state: string;
      from_state: string | null;
      metadata: Record<string, unknown>;
      next_retry_at: Date | null;
    }>(
      `SELECT s.name, st.to_state AS state, st.from_state, st.metadata, s.next_retry_at
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
        WHERE s.task_uuid = $1 ORDER BY s.name`,
      [taskUuid],
    );
    return Object.fromEntries(rows.map(({ name, ...rest }) => [name, rest]));
  }

  it('a task that ends in error stops the steps that would still run, and drops their retry times', async () => {
    const { taskUuid } = await insertTaskRows(db.pool, {
      namespace: 'ends_in_error',
      taskState: 'waiting_for_dependencies',
      steps: [
        { name: 'done', state: 'complete', attempts: 1 },
        { name: 'queued', state: 'enqueued' },
        { name: 'running', state: 'in_progress', attempts: 1 },
        { name: 'retrying', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 600 },
        { name: 'recorded', state: 'enqueued_for_orchestration', attempts: 1 },
        { name: 'failed_run', state: 'enqueued_as_error_for_orchestration', attempts: 1 },
        { name: 'later', state: 'pending', dependsOn: ['running'] },
      ],
    });
    const metadata = { reason: 'stale_waiting_for_dependencies' };
    expect(
      await transitionTask(
        db.pool,
        taskUuid,
        ['waiting_for_dependencies'],
        ['error'],
        metadata,
        processor,
      ),
    ).toEqual({ endedSteps: expect.any(Array) });

    const after = await steps(taskUuid);
    for (const name of ['queued', 'running', 'retrying']) {
      expect(after[name]).toMatchObject({ state: 'error', metadata, next_retry_at: null });
    }
    expect(after.retrying!.from_state).toBe('waiting_for_retry');
    // Results waiting for orchestration stay for an operator's reopening to settle; steps that
    // never started stay pending, so a reopened task can still run them.
    expect(after.recorded!.state).toBe('enqueued_for_orchestration');
    expect(after.failed_run!.state).toBe('enqueued_as_error_for_orchestration');
    expect(after.later!.state).toBe('pending');
    expect(after.done!.state).toBe('complete');
  });

  it('a cancelled task cancels every unfinished step', async () => {
    const { taskUuid } = await insertTaskRows(db.pool, {
      namespace: 'ends_cancelled',
      taskState: 'waiting_for_retry',
      steps: [
        { name: 'done', state: 'complete', attempts: 1 },
        { name: 'retrying', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 600 },
        { name: 'later', state: 'pending', dependsOn: ['retrying'] },
      ],
    });
    await transitionTask(db.pool, taskUuid, ['waiting_for_retry'], ['cancelled'], {}, processor);
    const after = await steps(taskUuid);
    expect(after.retrying).toMatchObject({ state: 'cancelled', next_retry_at: null });
    expect(after.later!.state).toBe('cancelled');
    expect(after.done!.state).toBe('complete');
  });

  it('moves no step while the task goes on', async () => {
    const { taskUuid } = await insertTaskRows(db.pool, {
      namespace: 'goes_on',
      taskState: 'steps_in_process',
      steps: [{ name: 'running', state: 'in_progress', attempts: 1 }],
    });
    await transitionTask(
      db.pool,
      taskUuid,
      ['steps_in_process'],
      ['evaluating_results', 'waiting_for_dependencies'],
    );
    expect((await steps(taskUuid)).running!.state).toBe('in_progress');
  });

  it('a step leaving waiting_for_retry by any way loses its retry time', async () => {
    const { taskUuid, stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'leaves_retry',
      taskState: 'waiting_for_retry',
      steps: [{ name: 'a', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 600 }],
    });
    const moved = await transitionSteps(db.pool, {
      stepUuids: [stepUuids.a!],
      from: ['waiting_for_retry'],
      to: 'resolved_manually',
    });
    expect(moved).toEqual([stepUuids.a]);
    expect((await steps(taskUuid)).a).toMatchObject({
      state: 'resolved_manually',
      next_retry_at: null,
    });
  });
});
