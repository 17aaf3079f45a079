import type pg from 'pg';
import { insertTaskRows, pollUntil, useDatabasePool } from '#testing';
import { transitionSteps } from './transition-steps.js';

/**
 * Every writer takes a step's row before its transition rows. Two real sequences that touch
 * both: a stopping worker releasing its run (step row, then its transition) and a cancellation
 * (the step's transition, then the step row). Interleaved in the old order they deadlock.
 */
describe('step and transition lock order', () => {
  const db = useDatabasePool(3);

  async function blockedBehind(pid: number): Promise<number> {
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))',
      [pid],
    );
    return rows[0]!.n;
  }

  it('lets a release and a cancellation of the same step both finish, one after the other', async () => {
    const { stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'lock_order',
      taskState: 'steps_in_process',
      steps: [{ name: 'running', state: 'in_progress', attempts: 1 }],
    });
    const step = stepUuids.running!;
    const releasing = await db.pool.connect();
    const cancelling = await db.pool.connect();
    const settle = async (client: pg.PoolClient, work: Promise<unknown>) => {
      try {
        await work;
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    };
    try {
      // releaseStep's first statement: the worker holds the step row.
      await releasing.query('BEGIN');
      const { rows } = await releasing.query<{ pid: number }>(
        `SELECT pg_backend_pid() AS pid FROM tasker.workflow_steps
          WHERE workflow_step_uuid = $1 AND attempts = 1 FOR UPDATE`,
        [step],
      );
      const releasePid = rows[0]!.pid;

      // The cancellation's step part: move the step, then clear its retry time.
      await cancelling.query('BEGIN');
      let cancelMoved = false;
      const cancel = (async () => {
        await transitionSteps(cancelling, { stepUuids: [step], to: 'cancelled' });
        cancelMoved = true;
        await cancelling.query(
          'UPDATE tasker.workflow_steps SET next_retry_at = NULL WHERE workflow_step_uuid = $1',
          [step],
        );
      })();
      await pollUntil(
        async () => cancelMoved || (await blockedBehind(releasePid)) > 0,
        (ready) => ready,
        { description: 'the cancellation to have moved the step or to wait for the release' },
      );

      // releaseStep's second statement.
      const release = transitionSteps(releasing, {
        stepUuids: [step],
        from: ['in_progress'],
        to: 'enqueued',
      });
      const outcomes = await Promise.allSettled([
        settle(releasing, release),
        settle(cancelling, cancel),
      ]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual([
        'ok',
        'ok',
      ]);
      const { rows: history } = await db.pool.query<{ to_state: string }>(
        `SELECT to_state FROM tasker.workflow_step_transitions
          WHERE workflow_step_uuid = $1 ORDER BY sort_key`,
        [step],
      );
      expect(history.map((t) => t.to_state)).toEqual(['in_progress', 'enqueued', 'cancelled']);
    } finally {
      releasing.release();
      cancelling.release();
    }
  });
});
