import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type Admission, parseTemplate } from '#core';
import { insertTaskRows, useDatabasePool } from '#testing';
import {
  admitWaitingSteps,
  concurrencyKeys,
  pruneConcurrencyKeys,
  registerConcurrencyLimits,
} from './concurrency.js';

/**
 * tasker.admit_waiting on its own: admissions racing on many connections never give a key more
 * slots than its limit, a slot comes back once its holder moved on (whatever left its row
 * behind), and registration refuses a shared limit declared two ways.
 */
describe('admission to concurrency limits', () => {
  const db = useDatabasePool(12);
  const processor = randomUUID();

  const limit = async (name: string, maxRunning: number, level: 'task' | 'step' = 'step') => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits (name, level, max_running, strategy, declared_by)
       VALUES ($1, $2, $3, 'queue', 'test/test')`,
      [name, level, maxRunning],
    );
  };

  /** A task of `steps` pending steps, each waiting for a slot of `name`/`key`. */
  const waitingTask = async (
    namespace: string,
    name: string,
    key: string,
    steps: number,
    level: 'task' | 'step' = 'step',
  ) => {
    const task = await insertTaskRows(db.pool, {
      namespace,
      taskState: 'waiting_for_dependencies',
      steps: Array.from({ length: steps }, (_, i) => ({ name: `s${i}`, state: 'pending' })),
    });
    await db.pool.query(`UPDATE tasker.tasks SET slots = $2 WHERE task_uuid = $1`, [
      task.taskUuid,
      JSON.stringify(
        level === 'task'
          ? { task: [name, key] }
          : { steps: Object.fromEntries([...Array(steps)].map((_, i) => [`s${i}`, [name, key]])) },
      ),
    ]);
    await db.pool.query(
      `INSERT INTO tasker.concurrency_keys (limit_name, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [name, key],
    );
    await db.pool.query(
      `INSERT INTO tasker.concurrency_waiters (workflow_step_uuid, task_uuid, limit_name, key, order_at)
       SELECT s, $2, $3, $4, clock_timestamp() FROM unnest($1::uuid[]) s`,
      [Object.values(task.stepUuids), task.taskUuid, name, key],
    );
    return task;
  };

  /** Moves a step (its run decided) or a task (it ended) on, as their units of work do. */
  const moveStep = (q: pg.Pool | pg.PoolClient, stepUuid: string, to: string) =>
    q.query(
      `WITH r AS (UPDATE tasker.workflow_step_transitions SET most_recent = false
                   WHERE workflow_step_uuid = $1 AND most_recent RETURNING to_state, sort_key)
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, sort_key, most_recent)
       SELECT $1, to_state, $2, sort_key + 1, true FROM r`,
      [stepUuid, to],
    );
  const endTask = (q: pg.Pool | pg.PoolClient, taskUuid: string, to: string) =>
    q.query(
      `WITH r AS (UPDATE tasker.task_transitions SET most_recent = false
                   WHERE task_uuid = $1 AND most_recent RETURNING sort_key)
       INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, most_recent)
       SELECT $1, $2, sort_key + 1, true FROM r`,
      [taskUuid, to],
    );

  /** Runs `work` in a transaction of a connection of its own. */
  const inTransaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  };

  const startedSteps = (admission: Admission) =>
    admission.admitted.flatMap((t) => t.steps.map((s) => s.stepUuid));

  const held = async (name: string) =>
    Object.fromEntries(
      (await concurrencyKeys(db.pool, { limit: name, max: 100 })).map((k) => [
        k.key,
        [k.running, k.waiting],
      ]),
    );

  it('admissions racing on 10 connections never exceed a key’s limit', async () => {
    await limit('race', 3);
    const tasks = [];
    for (let i = 0; i < 10; i++)
      tasks.push(await waitingTask(`race_${i}`, 'race', i % 2 ? 'odd' : 'even', 4));
    const admissions = await Promise.all(
      tasks.map((task) =>
        inTransaction((client) => admitWaitingSteps(client, [task.taskUuid], processor)),
      ),
    );
    const started = admissions.flatMap((a) => a.admitted.flatMap((t) => t.steps));
    expect(started).toHaveLength(6);
    expect(await held('race')).toEqual({ even: [3, 17], odd: [3, 17] });
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
        WHERE most_recent AND to_state = 'enqueued' AND metadata->>'limit' = 'race'`,
    );
    expect(rows[0]!.n).toBe(6);
  });

  it('a slot whose step moved on is free, though its row is still there', async () => {
    await limit('reclaim', 1);
    const task = await waitingTask('reclaim_ns', 'reclaim', 'k', 2);
    const first = await admitWaitingSteps(db.pool, [task.taskUuid], processor);
    expect(first.admitted[0]!.steps).toHaveLength(1);
    expect(await admitWaitingSteps(db.pool, [task.taskUuid], processor)).toMatchObject({
      admitted: [],
    });
    // The run was decided (here: straight to waiting_for_retry, as after a killed worker's
    // timeout); nothing deleted the slot row.
    const stepUuid = first.admitted[0]!.steps[0]!.stepUuid;
    await moveStep(db.pool, stepUuid, 'waiting_for_retry');
    expect(await held('reclaim')).toEqual({ k: [0, 1] });
    const second = await admitWaitingSteps(db.pool, null, processor);
    expect(second.admitted.flatMap((t) => t.steps.map((s) => s.stepUuid))).not.toContain(stepUuid);
    expect(second.admitted.flatMap((t) => t.steps)).toHaveLength(1);
    expect(await held('reclaim')).toEqual({ k: [1, 0] });
  });

  it('a waiting step of a task that ended does not start, and its wait is dropped', async () => {
    await limit('ended', 5);
    const task = await waitingTask('ended_ns', 'ended', 'k', 1);
    await endTask(db.pool, task.taskUuid, 'error');
    expect((await admitWaitingSteps(db.pool, null, processor)).admitted).toEqual([]);
    expect(await held('ended')).toEqual({});
  });

  it('hands a freed slot to the oldest waiter while another admission holds the key', async () => {
    await limit('handover', 1);
    const holder = await waitingTask('handover_a', 'handover', 'k', 1);
    const [holding] = startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor));
    const first = await waitingTask('handover_b', 'handover', 'k', 1);
    await waitingTask('handover_c', 'handover', 'k', 1);
    await moveStep(db.pool, holding!, 'complete');
    // Another replica admitting for the key holds its lock until it commits; the hand-over
    // keeps the count, so it needs no lock (lock_timeout turns a wait into a failure).
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `SELECT 1 FROM tasker.concurrency_keys WHERE limit_name = 'handover' FOR NO KEY UPDATE`,
      );
      const handed = await inTransaction(async (client) => {
        await client.query(`SET LOCAL lock_timeout = '2s'`);
        return admitWaitingSteps(client, [holder.taskUuid], processor);
      });
      expect(startedSteps(handed)).toEqual(Object.values(first.stepUuids));
    } finally {
      await other.query('ROLLBACK');
      other.release();
    }
    expect(await held('handover')).toEqual({ k: [1, 1] });
  });

  it('hands a task-level slot to the next task, which starts all its waiting steps', async () => {
    await limit('relay_task', 1, 'task');
    const holder = await waitingTask('relay_task_a', 'relay_task', 'k', 1, 'task');
    expect(
      startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor)),
    ).toHaveLength(1);
    const next = await waitingTask('relay_task_b', 'relay_task', 'k', 3, 'task');
    await waitingTask('relay_task_c', 'relay_task', 'k', 2, 'task');
    expect(startedSteps(await admitWaitingSteps(db.pool, [next.taskUuid], processor))).toEqual([]);
    await endTask(db.pool, holder.taskUuid, 'complete');
    const handed = await admitWaitingSteps(db.pool, [holder.taskUuid], processor);
    expect(startedSteps(handed).sort()).toEqual(Object.values(next.stepUuids).sort());
    expect(await held('relay_task')).toEqual({ k: [1, 2] });
    const { rows } = await db.pool.query<{ holder_uuid: string }>(
      `SELECT holder_uuid FROM tasker.concurrency_slots WHERE limit_name = 'relay_task'`,
    );
    expect(rows).toEqual([{ holder_uuid: next.taskUuid }]);
  });

  it('hand-overs racing with admissions on 10 connections keep a key at its limit', async () => {
    await limit('relay', 3);
    const holders = [];
    for (let i = 0; i < 3; i++) holders.push(await waitingTask(`relay_h${i}`, 'relay', 'k', 1));
    const holding = startedSteps(
      await admitWaitingSteps(
        db.pool,
        holders.map((h) => h.taskUuid),
        processor,
      ),
    );
    expect(holding).toHaveLength(3);
    const waiters = [];
    for (let i = 0; i < 12; i++) waiters.push(await waitingTask(`relay_w${i}`, 'relay', 'k', 1));
    const admissions = await Promise.all([
      ...holders.map((h) =>
        inTransaction(async (client) => {
          await moveStep(client, Object.values(h.stepUuids)[0]!, 'complete');
          return admitWaitingSteps(client, [h.taskUuid], processor);
        }),
      ),
      ...waiters
        .slice(0, 7)
        .map((w) => inTransaction((client) => admitWaitingSteps(client, [w.taskUuid], processor))),
    ]);
    const started = admissions.flatMap(startedSteps);
    expect(new Set(started).size).toBe(3);
    expect(started).toHaveLength(3);
    expect(await held('relay')).toEqual({ k: [3, 9] });
  });

  it('prunes the rows of keys nothing uses, keeps the others, and admits to a pruned key', async () => {
    await limit('prune', 1);
    const keys = async () =>
      (
        await db.pool.query<{ key: string }>(
          `SELECT key FROM tasker.concurrency_keys WHERE limit_name = 'prune' ORDER BY key`,
        )
      ).rows.map((r) => r.key);
    const running = await waitingTask('prune_a', 'prune', 'running', 1);
    const [runningStep] = startedSteps(
      await admitWaitingSteps(db.pool, [running.taskUuid], processor),
    );
    await waitingTask('prune_b', 'prune', 'running', 1);
    const done = await waitingTask('prune_c', 'prune', 'done', 1);
    const [doneStep] = startedSteps(await admitWaitingSteps(db.pool, [done.taskUuid], processor));
    await moveStep(db.pool, doneStep!, 'complete');
    await waitingTask('prune_d', 'prune', 'waiting', 1);
    await db.pool.query(
      `INSERT INTO tasker.concurrency_keys (limit_name, key) VALUES ('prune', 'unused')`,
    );
    expect(await keys()).toEqual(['done', 'running', 'unused', 'waiting']);
    // Keys of other tests' limits may be pruned as well: count only this limit's.
    await pruneConcurrencyKeys(db.pool, 1000);
    expect(await keys()).toEqual(['running', 'waiting']);
    expect(await held('prune')).toEqual({ running: [1, 1], waiting: [0, 1] });

    // The running key's row goes too once its step is decided and its waiter took the slot
    // and finished; admission recreates a row it needs.
    await db.pool.query(`DELETE FROM tasker.concurrency_keys WHERE limit_name = 'prune'`);
    await moveStep(db.pool, runningStep!, 'complete');
    const next = startedSteps(await admitWaitingSteps(db.pool, [running.taskUuid], processor));
    expect(next).toHaveLength(1);
    const waiting = startedSteps(await admitWaitingSteps(db.pool, null, processor));
    expect(waiting).toHaveLength(1);
    expect(await keys()).toEqual(['waiting']);
    expect(await held('prune')).toEqual({ running: [1, 0], waiting: [1, 0] });
  });

  it('refuses a shared limit declared two ways by two templates, and lets its template change it', async () => {
    const declaring = (name: string, max: number) =>
      parseTemplate(
        {
          namespace: 'shared',
          name,
          version: '1.0.0',
          steps: [
            { name: 'call', handler: 'h.call', concurrency: { name: 'partner', max_running: max } },
          ],
        },
        `${name}.yaml`,
      );
    await registerConcurrencyLimits(db.pool, declaring('one', 2));
    await expect(registerConcurrencyLimits(db.pool, declaring('two', 3))).rejects.toThrow(
      /concurrency limit partner is declared by shared\/one \(step level\) with other settings/,
    );
    await registerConcurrencyLimits(db.pool, declaring('one', 3));
    const { rows } = await db.pool.query<{ max_running: number }>(
      `SELECT max_running FROM tasker.concurrency_limits WHERE name = 'partner'`,
    );
    expect(rows[0]!.max_running).toBe(3);
  });
});
