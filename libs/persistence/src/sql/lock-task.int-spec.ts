import pg from 'pg';
import { createTestDatabase, insertTaskRows, type TestDatabase } from '#testing';
import type { Queryable } from '../database.js';
import { lockTask, lockTasksWithSteps } from './lock-task.js';
import { transitionSteps } from './transition-steps.js';
import { transitionTask } from './transition-task.js';

describe('lockTask', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let taskUuid: string;
  let stepUuid: string;
  let otherTasksStep: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    const task = await insertTaskRows(pool, {
      namespace: 'locks',
      taskState: 'steps_in_process',
      steps: [{ name: 'only', state: 'in_progress', attempts: 1 }],
    });
    taskUuid = task.taskUuid;
    stepUuid = task.stepUuids.only!;
    const other = await insertTaskRows(pool, {
      namespace: 'locks_other',
      taskState: 'steps_in_process',
      steps: [{ name: 'elsewhere', state: 'pending' }],
    });
    otherTasksStep = other.stepUuids.elsewhere!;
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  /** Runs `waiter` while `holder` holds the task lock and `change`s things, then commits. */
  async function behindTheLock<T>(
    change: (holder: pg.PoolClient) => Promise<void>,
    waiter: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('BEGIN');
      expect(await lockTask(first, taskUuid)).not.toBeNull();
      await second.query('BEGIN');
      const waiting = waiter(second);
      // The waiter is now blocked behind the first, which changes the task and its step.
      await change(first);
      await first.query('COMMIT');
      const seen = await waiting;
      await second.query('COMMIT');
      return seen;
    } finally {
      first.release();
      second.release();
    }
  }

  it('returns the state as of after the lock was released to it, not before it waited', async () => {
    const seen = await behindTheLock(
      (first) =>
        transitionTask(
          first,
          taskUuid,
          ['steps_in_process'],
          ['evaluating_results', 'waiting_for_dependencies'],
        ).then(() => undefined),
      (second) => lockTask(second, taskUuid),
    );
    expect(seen?.state).toBe('waiting_for_dependencies');
  });

  it('with the step, reads the step after the lock too, in the same round trip', async () => {
    const seen = await behindTheLock(
      (first) =>
        transitionSteps(first, {
          stepUuids: [stepUuid],
          from: ['in_progress'],
          to: 'enqueued_for_orchestration',
        }).then(() => undefined),
      (second) => lockOne(second, taskUuid, stepUuid),
    );
    expect(seen.task?.taskUuid).toBe(taskUuid);
    expect(seen.task?.namespace).toBe('locks');
    expect(seen.step).toMatchObject({
      stepUuid,
      taskUuid,
      stepName: 'only',
      state: 'enqueued_for_orchestration',
      attempts: 1,
      maxAttempts: 3,
    });
  });

  it('finds no step that belongs to another task, and no task that does not exist', async () => {
    const foreign = await lockOne(pool, taskUuid, otherTasksStep);
    expect(foreign.task?.taskUuid).toBe(taskUuid);
    expect(foreign.step).toBeNull();
    const missing = await lockOne(pool, '0190a0a0-0000-7000-8000-000000000000', stepUuid);
    expect(missing).toEqual({ task: null, step: null });
  });

  it('with steps, holds their rows too, so a compare-and-swap on them needs no lock of its own', async () => {
    const before = (await lockOne(pool, taskUuid, stepUuid)).step!.state;
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      const { steps } = await lockTasksWithSteps(holder, [
        { taskUuid, stepUuid },
        { taskUuid, stepUuid: otherTasksStep },
      ]);
      expect(steps.map((s) => s?.stepUuid ?? null)).toEqual([stepUuid, null]);
      // A worker's claim or record starts at the step row: it waits for this transaction.
      const stepLock = (uuid: string) =>
        pool
          .query(
            'SELECT 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = $1 FOR UPDATE NOWAIT',
            [uuid],
          )
          .then(
            () => 'free',
            (err: { code?: string }) => err.code,
          );
      expect(await stepLock(stepUuid)).toBe('55P03');
      // A step of another task is not taken.
      expect(await stepLock(otherTasksStep)).toBe('free');
      const moved = await transitionSteps(holder, {
        stepUuids: [stepUuid],
        from: [before],
        to: 'cancelled',
        stepsLocked: true,
      });
      expect(moved).toEqual([stepUuid]);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect((await lockOne(pool, taskUuid, stepUuid)).step?.state).toBe(before);
  });

  it('skips a task another transaction holds when asked to', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await lockTask(holder, taskUuid);
      expect(await lockTask(pool, taskUuid, { skipLocked: true })).toBeNull();
      await holder.query('COMMIT');
      expect(await lockTask(pool, taskUuid, { skipLocked: true })).not.toBeNull();
    } finally {
      holder.release();
    }
  });
});

/** lockTasksWithSteps for one step of one task. */
async function lockOne(q: Queryable, taskUuid: string, stepUuid: string) {
  const { tasks, steps } = await lockTasksWithSteps(q, [{ taskUuid, stepUuid }]);
  return { task: tasks.get(taskUuid) ?? null, step: steps[0] ?? null };
}
