import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type Admission, parseTemplate } from '#core';
import { insertTaskRows, pollUntil, useDatabasePool } from '#testing';
import { PgTaskUnitOfWork } from '../pg-task-store.js';
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

  /** Gives a task's steps their template steps (named_steps), by which a step's limit is found. */
  const nameSteps = (taskUuid: string) =>
    db.pool.query(
      `WITH named AS (
         INSERT INTO tasker.named_steps (named_task_uuid, name, handler)
         SELECT t.named_task_uuid, s.name, s.handler
           FROM tasker.tasks t JOIN tasker.workflow_steps s ON s.task_uuid = t.task_uuid
          WHERE t.task_uuid = $1
         RETURNING named_step_uuid, name)
       UPDATE tasker.workflow_steps s SET named_step_uuid = n.named_step_uuid
         FROM named n WHERE s.task_uuid = $1 AND s.name = n.name`,
      [taskUuid],
    );

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

  it('a step awaiting its decision gives up its slot when its task ends', async () => {
    // The worker recorded the step's result; then the staleness detector ended the task,
    // which leaves a result awaiting orchestration as it is (for a reopening to settle) and
    // drops the result message. Nothing would ever decide the step, so its slot must not count.
    await limit('undecided', 1);
    const ending = await waitingTask('undecided_a', 'undecided', 'k', 1);
    const [step] = startedSteps(await admitWaitingSteps(db.pool, [ending.taskUuid], processor));
    await moveStep(db.pool, step!, 'in_progress');
    await moveStep(db.pool, step!, 'enqueued_for_orchestration');
    const next = await waitingTask('undecided_b', 'undecided', 'k', 1);
    expect(startedSteps(await admitWaitingSteps(db.pool, [next.taskUuid], processor))).toEqual([]);
    await endTask(db.pool, ending.taskUuid, 'error');
    expect(startedSteps(await admitWaitingSteps(db.pool, [ending.taskUuid], processor))).toEqual([
      next.stepUuids.s0,
    ]);
    expect(await held('undecided')).toEqual({ k: [1, 0] });
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

  /** Runs `work` on connections of their own, each in a transaction it may commit. */
  const inTransactions = async (
    n: number,
    work: (clients: pg.PoolClient[]) => Promise<void>,
  ): Promise<void> => {
    const clients = await Promise.all(Array.from({ length: n }, () => db.pool.connect()));
    try {
      for (const client of clients) await client.query('BEGIN');
      await work(clients);
    } finally {
      for (const client of clients) {
        await client.query('ROLLBACK');
        client.release();
      }
    }
  };

  /** Starts `work` on `client`; resolves once it waits for another transaction, or ended. */
  const runUntilBlocked = async <T>(
    client: pg.PoolClient,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<{ running: Promise<T> }> => {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    let ended = false;
    const running = work(client).finally(() => (ended = true));
    running.catch(() => undefined);
    await pollUntil(
      async () =>
        (
          await db.pool.query<{ n: number }>('SELECT cardinality(pg_blocking_pids($1))::int AS n', [
            rows[0]!.pid,
          ])
        ).rows[0]!.n,
      (blockers) => ended || blockers > 0,
    );
    return { running };
  };

  /**
   * Commits each run's transaction once it ended, in order; answers the runs' errors. Had two
   * runs each waited for the other, PostgreSQL would have aborted one ("deadlock detected").
   */
  const commitInOrder = async (
    runs: [pg.PoolClient, { running: Promise<unknown> }][],
  ): Promise<string[]> => {
    const failures: string[] = [];
    for (const [client, { running }] of runs) {
      await running.then(
        () => client.query('COMMIT'),
        (err: Error) => failures.push(err.message),
      );
    }
    return failures;
  };

  it('an admission that frees a slot and a sweep that checks the slot’s key both finish', async () => {
    // The admission deletes the freed slot's row before it takes the key's lock; the sweep
    // takes the key's lock before it deletes the rows of slots given up. Here the sweep gets
    // the key first (queued behind a third transaction), then meets the row the admission holds.
    await limit('crossing', 1);
    const holder = await waitingTask('crossing_a', 'crossing', 'k', 3);
    const [holding] = startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor));
    await moveStep(db.pool, holding!, 'complete');
    await inTransactions(3, async ([keyHolder, sweeper, admitter]) => {
      await keyHolder!.query(`SELECT tasker.lock_concurrency_key('crossing', 'k')`);
      const sweeping = await runUntilBlocked(sweeper!, (c) =>
        admitWaitingSteps(c, null, processor),
      );
      const admitting = await runUntilBlocked(admitter!, (c) =>
        admitWaitingSteps(c, [holder.taskUuid], processor),
      );
      await keyHolder!.query('ROLLBACK');
      // The sweep finishes; the admission then takes the key.
      expect(
        await commitInOrder([
          [sweeper!, sweeping],
          [admitter!, admitting],
        ]),
      ).toEqual([]);
    });
    // The freed slot went to one of the task's waiting steps; the other still waits.
    expect(await held('crossing')).toEqual({ k: [1, 1] });
  });

  it('an admission that frees a slot and a prune of the slot’s key both finish', async () => {
    // Task t's step s0 gave up its slot at key b and nothing named t; s1 waits at key a, s2 at
    // b. The admission for t deletes s0's slot row, cannot hand it to s2 (another transaction
    // holds s2's row), and waits for key a before it takes key b. Meanwhile s2's wait ends
    // elsewhere, and the prune finds b idle, locks it and meets s0's row.
    await limit('pruning', 5);
    const t = await insertTaskRows(db.pool, {
      namespace: 'pruning_t',
      taskState: 'steps_in_process',
      steps: [
        { name: 's0', state: 'complete' },
        { name: 's1', state: 'pending' },
        { name: 's2', state: 'pending' },
      ],
    });
    const { s0, s1, s2 } = t.stepUuids as Record<'s0' | 's1' | 's2', string>;
    await db.pool.query(
      `WITH keys AS (
         INSERT INTO tasker.concurrency_keys (limit_name, key) VALUES ('pruning', 'a'), ('pruning', 'b')
       ),
       slot AS (
         INSERT INTO tasker.concurrency_slots (limit_name, key, holder_uuid, task_uuid)
         VALUES ('pruning', 'b', $2, $1)
       )
       INSERT INTO tasker.concurrency_waiters (workflow_step_uuid, task_uuid, limit_name, key, order_at)
       VALUES ($3, $1, 'pruning', 'a', clock_timestamp()), ($4, $1, 'pruning', 'b', clock_timestamp())`,
      [t.taskUuid, s0, s1, s2],
    );
    await inTransactions(4, async ([keyHolder, stepHolder, admitter, pruner]) => {
      await keyHolder!.query(`SELECT tasker.lock_concurrency_key('pruning', 'a')`);
      await stepHolder!.query(
        `SELECT 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = $1 FOR UPDATE`,
        [s2],
      );
      const admitting = await runUntilBlocked(admitter!, (c) =>
        admitWaitingSteps(c, [t.taskUuid], processor),
      );
      await db.pool.query(`DELETE FROM tasker.concurrency_waiters WHERE workflow_step_uuid = $1`, [
        s2,
      ]);
      const pruning = await runUntilBlocked(pruner!, (c) => pruneConcurrencyKeys(c, 1000));
      await keyHolder!.query('ROLLBACK');
      await stepHolder!.query('ROLLBACK');
      // The prune finishes; the admission then takes key b.
      expect(
        await commitInOrder([
          [pruner!, pruning],
          [admitter!, admitting],
        ]),
      ).toEqual([]);
    });
    expect(await held('pruning')).toEqual({ a: [1, 0] });
  });

  it('a retry that comes due while its task’s ready steps are queued waits for a slot too', async () => {
    // Queueing the steps that wait (one statement) and enqueueing the rest (the next) must
    // agree on which steps are ready. Here the first statement waits for a lock on step a
    // while b's retry time passes; the second must not then start b without a slot.
    await limit('due_between', 5);
    const task = await insertTaskRows(db.pool, {
      namespace: 'due_between',
      taskState: 'evaluating_results',
      steps: [
        { name: 'a', state: 'pending' },
        { name: 'b', state: 'waiting_for_retry', attempts: 1, retryInSeconds: 1 },
      ],
    });
    const dueAt = Date.now() + 1000;
    await db.pool.query(`UPDATE tasker.tasks SET slots = $2 WHERE task_uuid = $1`, [
      task.taskUuid,
      JSON.stringify({ steps: { a: ['due_between', 'k'], b: ['due_between', 'k'] } }),
    ]);
    await nameSteps(task.taskUuid);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `SELECT 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = $1 FOR UPDATE`,
        [task.stepUuids.a],
      );
      const ready = inTransaction((client) =>
        new PgTaskUnitOfWork(client, processor).enqueueReadySteps([
          { taskUuid: task.taskUuid, limited: true },
        ]),
      );
      await new Promise((resolve) => setTimeout(resolve, dueAt + 300 - Date.now()));
      await other.query('COMMIT');
      expect((await ready).get(task.taskUuid)!.steps).toEqual([]);
    } finally {
      other.release();
    }
    // a waits for its slot, b for its retry's next round (a sweep finds it due).
    const { rows } = await db.pool.query(
      `SELECT s.name, st.to_state, w.limit_name FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
         LEFT JOIN tasker.concurrency_waiters w ON w.workflow_step_uuid = s.workflow_step_uuid
        WHERE s.task_uuid = $1 ORDER BY s.name`,
      [task.taskUuid],
    );
    expect(rows).toEqual([
      { name: 'a', to_state: 'pending', limit_name: 'due_between' },
      { name: 'b', to_state: 'waiting_for_retry', limit_name: null },
    ]);
    expect(startedSteps(await admitWaitingSteps(db.pool, [task.taskUuid], processor))).toEqual([
      task.stepUuids.a,
    ]);
  });

  it('a step with a limit of its own under its task’s waits for its task’s slot, then for its own', async () => {
    // One task per customer at a time (task level), one call at a time to an API (step level).
    await limit('nest_task', 1, 'task');
    await limit('nest_api', 1);
    /** A task of `customer` whose pending steps (name → its own API key, or none) are queued. */
    const nestedTask = async (customer: string, steps: Record<string, string | null>) => {
      const task = await insertTaskRows(db.pool, {
        namespace: `nest_${customer}_${randomUUID().slice(0, 8)}`,
        taskState: 'waiting_for_dependencies',
        steps: Object.keys(steps).map((name) => ({ name, state: 'pending' })),
      });
      const own = Object.entries(steps).filter(([, key]) => key !== null);
      await db.pool.query(`UPDATE tasker.tasks SET slots = $2 WHERE task_uuid = $1`, [
        task.taskUuid,
        JSON.stringify({
          task: ['nest_task', customer],
          steps: Object.fromEntries(own.map(([name, key]) => [name, ['nest_api', key]])),
        }),
      ]);
      await nameSteps(task.taskUuid);
      const queued = await inTransaction((client) =>
        new PgTaskUnitOfWork(client, processor).enqueueReadySteps([
          { taskUuid: task.taskUuid, limited: true },
        ]),
      );
      expect(queued.get(task.taskUuid)).toMatchObject({
        steps: [],
        waiting: Object.keys(steps).length,
      });
      return task;
    };
    const waiters = async () =>
      (
        await db.pool.query<{ step: string; at: string }>(
          `SELECT workflow_step_uuid AS step, limit_name || '/' || key AS at
             FROM tasker.concurrency_waiters WHERE limit_name LIKE 'nest_%' ORDER BY order_at`,
        )
      ).rows.map((r) => [r.step, r.at]);

    // Until a task holds its task-level slot, all its ready steps wait for it.
    const t1 = await nestedTask('c1', { call: 'k' });
    const t2 = await nestedTask('c1', { call: 'k' });
    const t3 = await nestedTask('c2', { call: 'k' });
    expect(await waiters()).toEqual([
      [t1.stepUuids.call, 'nest_task/c1'],
      [t2.stepUuids.call, 'nest_task/c1'],
      [t3.stepUuids.call, 'nest_task/c2'],
    ]);

    // Admitting: c1 goes to t1 and c2 to t3, whose calls move on to wait for the API, which
    // starts t1's (the first to move); t2 waits for c1.
    const first = await admitWaitingSteps(
      db.pool,
      [t1.taskUuid, t2.taskUuid, t3.taskUuid],
      processor,
    );
    expect(startedSteps(first)).toEqual([t1.stepUuids.call]);
    expect(await held('nest_task')).toEqual({ c1: [1, 1], c2: [1, 0] });
    expect(await held('nest_api')).toEqual({ k: [1, 1] });
    expect(await waiters()).toEqual([
      [t2.stepUuids.call, 'nest_task/c1'],
      [t3.stepUuids.call, 'nest_api/k'],
    ]);
    const { rows: admitted } = await db.pool.query(
      `SELECT metadata FROM tasker.workflow_step_transitions
        WHERE workflow_step_uuid = $1 AND to_state = 'enqueued'`,
      [t1.stepUuids.call],
    );
    expect(admitted).toEqual([{ metadata: { limit: 'nest_api', key: 'k' } }]);

    // t1's call is decided and t1 ends: c1 goes to t2, whose call moves on to the API; the API
    // slot goes to t3's call, which waited there first.
    await moveStep(db.pool, t1.stepUuids.call!, 'complete');
    await endTask(db.pool, t1.taskUuid, 'complete');
    const second = await admitWaitingSteps(db.pool, [t1.taskUuid], processor);
    expect(startedSteps(second)).toEqual([t3.stepUuids.call]);
    expect(await held('nest_task')).toEqual({ c1: [1, 0], c2: [1, 0] });
    expect(await held('nest_api')).toEqual({ k: [1, 1] });
    expect(await waiters()).toEqual([[t2.stepUuids.call, 'nest_api/k']]);

    // A task that holds its slot: a ready step with a limit of its own waits for it, one
    // without runs under the task's slot at once.
    const t4 = await insertTaskRows(db.pool, {
      namespace: `nest_c3_${randomUUID().slice(0, 8)}`,
      taskState: 'evaluating_results',
      steps: [
        { name: 'call', state: 'pending' },
        { name: 'log', state: 'pending' },
      ],
    });
    await db.pool.query(`UPDATE tasker.tasks SET slots = $2 WHERE task_uuid = $1`, [
      t4.taskUuid,
      JSON.stringify({ task: ['nest_task', 'c3'], steps: { call: ['nest_api', 'k'] } }),
    ]);
    await nameSteps(t4.taskUuid);
    await db.pool.query(
      `INSERT INTO tasker.concurrency_slots (limit_name, key, holder_uuid, task_uuid)
       VALUES ('nest_task', 'c3', $1, $1)`,
      [t4.taskUuid],
    );
    const ready = await inTransaction((client) =>
      new PgTaskUnitOfWork(client, processor).enqueueReadySteps([
        { taskUuid: t4.taskUuid, limited: true },
      ]),
    );
    expect(ready.get(t4.taskUuid)).toMatchObject({
      steps: [{ stepName: 'log' }],
      waiting: 1,
    });
    expect(await waiters()).toEqual([
      [t2.stepUuids.call, 'nest_api/k'],
      [t4.stepUuids.call, 'nest_api/k'],
    ]);
  });

  it('a step of a task that holds its slot starts though a task needing a slot waits ahead of it', async () => {
    // When the task took its slot, one of its waiting steps was locked by another
    // transaction (the readiness sweep, say) and stayed waiting. A task of higher priority
    // then waits ahead of it at the full key: the step must not wait behind a task that needs
    // the slot its own task holds.
    await limit('stranded', 1, 'task');
    const holder = await waitingTask('stranded_t', 'stranded', 'k', 2, 'task');
    const locker = await db.pool.connect();
    let first: string[];
    try {
      await locker.query('BEGIN');
      await locker.query(
        `SELECT 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = $1 FOR UPDATE`,
        [holder.stepUuids.s0],
      );
      first = startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor));
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(first).toEqual([holder.stepUuids.s1]);
    const urgent = await waitingTask('stranded_p', 'stranded', 'k', 1, 'task');
    await db.pool.query(
      `UPDATE tasker.concurrency_waiters SET order_at = order_at - interval '100 seconds'
        WHERE task_uuid = $1`,
      [urgent.taskUuid],
    );
    expect(startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor))).toEqual([
      holder.stepUuids.s0,
    ]);
    expect(await held('stranded')).toEqual({ k: [1, 1] });
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

  /**
   * Hands one slot on `times` times, from the holding step of `task` to the next waiter and so
   * on, each holder's run decided before its admission (as its unit of work does); answers the
   * tasks it went to, in order.
   */
  const handOver = async (task: string, step: string, times: number) => {
    const handedTo: string[] = [];
    for (let i = 0; i < times; i++) {
      await moveStep(db.pool, step, 'complete');
      const [next] = (await admitWaitingSteps(db.pool, [task], processor)).admitted;
      task = next!.task.taskUuid;
      step = next!.steps[0]!.stepUuid;
      handedTo.push(task);
    }
    return handedTo;
  };

  /**
   * Queues one waiting step for each of `count` new tasks of tenant `group` of a fair limit,
   * each in a transaction of its own, all open at once: none sees the others' waiters, as when
   * a tenant's burst arrives through several replicas. Answers the tasks' uuids.
   */
  const queueAtOnce = async (name: string, group: string, count: number) => {
    const tasks = [];
    for (let i = 0; i < count; i++) {
      tasks.push(
        await insertTaskRows(db.pool, {
          namespace: `${name}_${group}${i}`,
          taskState: 'waiting_for_dependencies',
          steps: [{ name: 's0', state: 'pending' }],
        }),
      );
    }
    const clients = await Promise.all(tasks.map(() => db.pool.connect()));
    try {
      for (const client of clients) await client.query('BEGIN');
      for (const [i, task] of tasks.entries()) {
        await clients[i]!.query(
          `INSERT INTO tasker.concurrency_waiters
             (workflow_step_uuid, task_uuid, limit_name, key, fair_group, order_at)
           VALUES ($1, $2, $3, 'k', $4, tasker.waiter_order($3, 'k', $4, 0, 0, 1000))`,
          [task.stepUuids.s0, task.taskUuid, name, group],
        );
      }
      for (const client of clients) await client.query('COMMIT');
    } finally {
      for (const client of clients) client.release();
    }
    return tasks.map((t) => t.taskUuid);
  };

  it('a tenant’s waiters queued by concurrent transactions take turns with another tenant’s, slot by slot and all at once', async () => {
    // Tenant z waits first; then tenant a's four and b's two arrive, each tenant's at once.
    // Unable to see each other, a's take z's turn, as do b's; each start passes the turn on.
    const queueTenants = async (name: string) => {
      const tenantOf = new Map<string, string>();
      for (const [group, count] of [
        ['z', 1],
        ['a', 4],
        ['b', 2],
      ] as const) {
        for (const t of await queueAtOnce(name, group, count)) tenantOf.set(t, group);
      }
      return tenantOf;
    };

    // One slot handed on from task to task.
    await limit('turns', 1);
    const holder = await waitingTask('turns_h', 'turns', 'k', 1);
    const [holding] = startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor));
    let tenantOf = await queueTenants('turns');
    const handedTo = await handOver(holder.taskUuid, holding!, 7);
    expect(handedTo.map((t) => tenantOf.get(t)).join('')).toBe('zababaa');

    // Seven slots free at once: one admission starts them in turn.
    await limit('turns_all', 7);
    tenantOf = await queueTenants('turns_all');
    const all = await admitWaitingSteps(db.pool, null, processor);
    expect(all.admitted.map((t) => tenantOf.get(t.task.taskUuid)).join('')).toBe('zababaa');
  });

  it('a cancel strategy never turns a task away for a slot whose holder moved on, even if nothing named it', async () => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits (name, level, max_running, strategy, declared_by)
       VALUES ('newest_out', 'task', 1, 'cancel_newest', 'test/test')`,
    );
    const old = await waitingTask('newest_out_a', 'newest_out', 'doc', 1, 'task');
    expect(startedSteps(await admitWaitingSteps(db.pool, [old.taskUuid], processor))).toHaveLength(
      1,
    );
    // The holder ends by a path that did not name it to admission (a crash before its
    // request was made): its slot's row is left behind.
    await endTask(db.pool, old.taskUuid, 'error');
    const next = await waitingTask('newest_out_b', 'newest_out', 'doc', 1, 'task');
    const admitted = await admitWaitingSteps(db.pool, [next.taskUuid], processor);
    expect(admitted.cancel).toEqual([]);
    expect(admitted.admitted.map((t) => t.task.taskUuid)).toEqual([next.taskUuid]);
  });

  it('a task-level rate counts task starts: a task’s steps started with it count once', async () => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits
         (name, level, rate_limit, rate_period_ms, strategy, declared_by)
       VALUES ('rated_tasks', 'task', 2, 60000, 'queue', 'test/test')`,
    );
    // Two tasks within a rate of two task starts a minute: the first has two ready roots.
    const first = await waitingTask('rated_tasks_a', 'rated_tasks', 'k', 2, 'task');
    const second = await waitingTask('rated_tasks_b', 'rated_tasks', 'k', 1, 'task');
    const admitted = await admitWaitingSteps(db.pool, [first.taskUuid, second.taskUuid], processor);
    expect(admitted.admitted.map((t) => [t.task.taskUuid, t.steps.length])).toEqual(
      expect.arrayContaining([
        [first.taskUuid, 2],
        [second.taskUuid, 1],
      ]),
    );
    expect(admitted.wakeAt).toBeNull();
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.concurrency_starts WHERE limit_name = 'rated_tasks'`,
    );
    expect(rows[0]!.n).toBe(2);
    // A third task waits for the window.
    const third = await waitingTask('rated_tasks_c', 'rated_tasks', 'k', 1, 'task');
    const later = await admitWaitingSteps(db.pool, [third.taskUuid], processor);
    expect(later.admitted).toEqual([]);
    expect(later.wakeAt).not.toBeNull();
  });

  it('a fair pool’s priorities shift each waiter once: a tenant’s tasks keep their order, and a low priority does not pile up', async () => {
    await limit('prio_turns', 1);
    const holder = await waitingTask('prio_turns_h', 'prio_turns', 'k', 1);
    const [holding] = startedSteps(await admitWaitingSteps(db.pool, [holder.taskUuid], processor));
    // Tenant a queues three tasks of priority 100 one after another, then tenant c three of -100.
    const name = new Map<string, string>();
    for (const [group, priority] of [
      ['a', 100],
      ['c', -100],
    ] as const) {
      for (let i = 1; i <= 3; i++) {
        const task = await insertTaskRows(db.pool, {
          namespace: `prio_turns_${group}${i}`,
          taskState: 'waiting_for_dependencies',
          steps: [{ name: 's0', state: 'pending' }],
        });
        await db.pool.query(`UPDATE tasker.tasks SET priority = $2 WHERE task_uuid = $1`, [
          task.taskUuid,
          priority,
        ]);
        await db.pool.query(
          `INSERT INTO tasker.concurrency_waiters
             (workflow_step_uuid, task_uuid, limit_name, key, fair_group, order_at)
           VALUES ($1, $2, 'prio_turns', 'k', $3, tasker.waiter_order('prio_turns', 'k', $3, 0, $4, 1000))`,
          [task.stepUuids.s0, task.taskUuid, group, priority],
        );
        name.set(task.taskUuid, `${group}${i}`);
      }
    }
    // Each waiter's turn comes one turn (1 ms) after its tenant's last, shifted once by its own
    // priority (100 points × 1 s): c's three lie within ms of each other, not 100 s apart each.
    const { rows } = await db.pool.query<{ spread: number }>(
      `SELECT extract(epoch FROM max(order_at) - min(order_at))::float8 AS spread
         FROM tasker.concurrency_waiters WHERE limit_name = 'prio_turns' AND fair_group = 'c'`,
    );
    expect(rows[0]!.spread).toBeLessThan(1);
    const handedTo = await handOver(holder.taskUuid, holding!, 6);
    expect(handedTo.map((t) => name.get(t))).toEqual(['a1', 'a2', 'a3', 'c1', 'c2', 'c3']);
  });

  it('the sweep admits where there is room and checks the slots of the other keys 64 a pass, each once in 30 s', async () => {
    // The rotation spans every limit: the waits earlier tests left would take turns in it.
    await db.pool.query(`DELETE FROM tasker.concurrency_waiters`);
    await limit('sweep', 1);
    const holders = [];
    for (let i = 0; i < 70; i++) {
      const key = `full${String(i).padStart(2, '0')}`;
      holders.push(await waitingTask(`sweep_h${i}`, 'sweep', key, 1));
      await waitingTask(`sweep_w${i}`, 'sweep', key, 1);
    }
    expect(
      startedSteps(
        await admitWaitingSteps(
          db.pool,
          holders.map((h) => h.taskUuid),
          processor,
        ),
      ),
    ).toHaveLength(70);
    // One holder moved on without its unit of work naming its task to admission.
    await moveStep(db.pool, holders[42]!.stepUuids.s0!, 'complete');
    const roomy = await waitingTask('sweep_roomy', 'sweep', 'roomy', 1);
    await db.pool.query(
      `UPDATE tasker.concurrency_keys SET checked_at = now()
        WHERE limit_name = 'sweep' AND key = 'roomy'`,
    );
    /** Sweeps once; answers the steps it started and how many keys it checked. */
    const sweep = async () => {
      const client = await db.pool.connect();
      try {
        const { rows } = await client.query<{ at: Date }>('SELECT clock_timestamp() AS at');
        const started = startedSteps(await admitWaitingSteps(client, null, processor));
        const { rows: checked } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tasker.concurrency_keys
            WHERE limit_name = 'sweep' AND checked_at >= $1`,
          [rows[0]!.at],
        );
        return { started, checked: checked[0]!.n };
      } finally {
        client.release();
      }
    };
    const first = await sweep();
    // The key with room, and 64 of the full keys never checked; the other 6 come next, and
    // those checked just now not again for 30 s.
    expect(first.checked).toBe(65);
    expect(first.started).toContain(roomy.stepUuids.s0);
    const second = await sweep();
    expect(second.checked).toBe(6);
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.concurrency_keys
        WHERE limit_name = 'sweep' AND checked_at IS NULL`,
    );
    expect(rows[0]!.n).toBe(0);
    // By then the slot its holder gave up was found, and its key's waiter took it.
    expect([...first.started, ...second.started]).toHaveLength(2);
    const keys = await held('sweep');
    expect(Object.keys(keys)).toHaveLength(71);
    expect(Object.entries(keys).filter(([, [running]]) => running !== 1)).toEqual([]);
    expect(
      Object.entries(keys)
        .filter(([, [, waiting]]) => waiting === 0)
        .map(([key]) => key)
        .sort(),
    ).toEqual(['full42', 'roomy']);
  });

  it('a sweep in the second before a rate’s wait ends answers when to wake, so that end is not left to the next sweep', async () => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits
         (name, level, rate_limit, rate_period_ms, strategy, declared_by)
       VALUES ('paced', 'step', 1, 1500, 'queue', 'test/test')`,
    );
    const first = await waitingTask('paced_a', 'paced', 'k', 1);
    await waitingTask('paced_b', 'paced', 'k', 1);
    const admitted = await admitWaitingSteps(db.pool, [first.taskUuid], processor);
    expect(startedSteps(admitted)).toHaveLength(1);
    const wakeAt = admitted.wakeAt!.getTime();
    // A sweep now checks the key (never checked) and answers the wait; one 1 s before the
    // wait ends (the key checked just now, so out of the rotation) must answer it too: a
    // replica's timer for it may be gone with its replica, or fire early by the clocks' skew.
    expect((await admitWaitingSteps(db.pool, null, processor)).wakeAt?.getTime()).toBe(wakeAt);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wakeAt - Date.now() - 900)));
    const near = await admitWaitingSteps(db.pool, null, processor, 1000);
    expect(near.admitted).toEqual([]);
    expect(near.wakeAt?.getTime()).toBe(wakeAt);
  });

  it('a lowered max_running holds while steps wait: freed slots are handed over only up to it', async () => {
    await limit('lowered', 3);
    const running = [];
    for (let i = 0; i < 3; i++) running.push(await waitingTask(`lowered_r${i}`, 'lowered', 'k', 1));
    const started = startedSteps(
      await admitWaitingSteps(
        db.pool,
        running.map((t) => t.taskUuid),
        processor,
      ),
    );
    expect(started).toHaveLength(3);
    await waitingTask('lowered_w0', 'lowered', 'k', 1);
    await waitingTask('lowered_w1', 'lowered', 'k', 1);
    await db.pool.query(
      `UPDATE tasker.concurrency_limits SET max_running = 1 WHERE name = 'lowered'`,
    );
    await moveStep(db.pool, started[0]!, 'complete');
    await moveStep(db.pool, started[1]!, 'complete');
    expect(
      startedSteps(
        await admitWaitingSteps(
          db.pool,
          running.slice(0, 2).map((t) => t.taskUuid),
          processor,
        ),
      ),
    ).toEqual([]);
    expect(await held('lowered')).toEqual({ k: [1, 2] });
    await moveStep(db.pool, started[2]!, 'complete');
    expect(
      startedSteps(await admitWaitingSteps(db.pool, [running[2]!.taskUuid], processor)),
    ).toHaveLength(1);
    expect(await held('lowered')).toEqual({ k: [1, 1] });
  });

  it('cancel_in_progress evicts past a holder whose slot its own unit is freeing, without a deadlock', async () => {
    // The holder's unit of work deleted its slot's row (the holder ended) and waits for the
    // key (no hand-over at a cancel_in_progress key); the newer waiter's admission holds the
    // key and would evict that very row.
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits (name, level, max_running, strategy, declared_by)
       VALUES ('latest', 'task', 1, 'cancel_in_progress', 'test/test')`,
    );
    const old = await waitingTask('latest_a', 'latest', 'doc', 1, 'task');
    expect(startedSteps(await admitWaitingSteps(db.pool, [old.taskUuid], processor))).toHaveLength(
      1,
    );
    await endTask(db.pool, old.taskUuid, 'complete');
    const older = await waitingTask('latest_b', 'latest', 'doc', 1, 'task');
    const newest = await waitingTask('latest_c', 'latest', 'doc', 1, 'task');
    const admissions: Admission[] = [];
    await inTransactions(3, async ([keyHolder, admitter, ender]) => {
      await keyHolder!.query(`SELECT tasker.lock_concurrency_key('latest', 'doc')`);
      const admitting = await runUntilBlocked(admitter!, (c) =>
        admitWaitingSteps(c, [newest.taskUuid], processor).then((a) => admissions.push(a)),
      );
      const ending = await runUntilBlocked(ender!, (c) =>
        admitWaitingSteps(c, [old.taskUuid], processor).then((a) => admissions.push(a)),
      );
      await keyHolder!.query('ROLLBACK');
      expect(
        await commitInOrder([
          [admitter!, admitting],
          [ender!, ending],
        ]),
      ).toEqual([]);
    });
    // The holder had ended, so nothing is cancelled for it; the newest task runs, and the one
    // before it, older than every holder then, is turned away.
    expect(admissions.flatMap((a) => a.admitted.map((t) => t.task.taskUuid))).toEqual([
      newest.taskUuid,
    ]);
    expect(admissions.flatMap((a) => a.cancel.map((c) => c.taskUuid))).toEqual([older.taskUuid]);
    expect(await held('latest')).toEqual({ doc: [1, 0] });
  });

  it('cancel_in_progress: an evicted task not yet cancelled is turned away again, and evicts nobody', async () => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits (name, level, max_running, strategy, declared_by)
       VALUES ('only_latest', 'task', 1, 'cancel_in_progress', 'test/test')`,
    );
    // The evicted task has a second step that becomes ready once its first finishes.
    const evicted = await insertTaskRows(db.pool, {
      namespace: 'only_latest_a',
      taskState: 'steps_in_process',
      steps: [
        { name: 'first', state: 'pending' },
        { name: 'second', state: 'pending' },
      ],
    });
    await db.pool.query(`UPDATE tasker.tasks SET slots = $2 WHERE task_uuid = $1`, [
      evicted.taskUuid,
      JSON.stringify({ task: ['only_latest', 'doc'] }),
    ]);
    await db.pool.query(
      `INSERT INTO tasker.concurrency_waiters (workflow_step_uuid, task_uuid, limit_name, key, order_at)
       VALUES ($1, $2, 'only_latest', 'doc', clock_timestamp())`,
      [evicted.stepUuids.first, evicted.taskUuid],
    );
    expect(startedSteps(await admitWaitingSteps(db.pool, [evicted.taskUuid], processor))).toEqual([
      evicted.stepUuids.first,
    ]);
    const latest = await waitingTask('only_latest_b', 'only_latest', 'doc', 1, 'task');
    const eviction = await admitWaitingSteps(db.pool, [latest.taskUuid], processor);
    expect(eviction.cancel).toEqual([{ taskUuid: evicted.taskUuid, limit: 'only_latest' }]);
    expect(startedSteps(eviction)).toEqual([latest.stepUuids.s0]);
    // Before the evicted task is cancelled (its replica is slow, or died), its first step
    // finishes and its second waits, newer than the latest task's start.
    await moveStep(db.pool, evicted.stepUuids.first!, 'complete');
    await db.pool.query(
      `INSERT INTO tasker.concurrency_waiters (workflow_step_uuid, task_uuid, limit_name, key, order_at)
       VALUES ($1, $2, 'only_latest', 'doc', clock_timestamp())`,
      [evicted.stepUuids.second, evicted.taskUuid],
    );
    const again = await admitWaitingSteps(db.pool, [evicted.taskUuid], processor);
    expect(again.cancel).toEqual([{ taskUuid: evicted.taskUuid, limit: 'only_latest' }]);
    expect(startedSteps(again)).toEqual([]);
    expect(await held('only_latest')).toEqual({ doc: [1, 0] });
  });

  it('the sweep carries out a cancel strategy’s cancellation that its replica did not', async () => {
    await db.pool.query(
      `INSERT INTO tasker.concurrency_limits (name, level, max_running, strategy, declared_by)
       VALUES ('first_only', 'task', 1, 'cancel_newest', 'test/test')`,
    );
    const first = await waitingTask('first_only_a', 'first_only', 'doc', 1, 'task');
    expect(
      startedSteps(await admitWaitingSteps(db.pool, [first.taskUuid], processor)),
    ).toHaveLength(1);
    const second = await waitingTask('first_only_b', 'first_only', 'doc', 1, 'task');
    const turnedAway = await admitWaitingSteps(db.pool, [second.taskUuid], processor);
    expect(turnedAway.cancel).toEqual([{ taskUuid: second.taskUuid, limit: 'first_only' }]);
    const sweptFor = async () =>
      (await admitWaitingSteps(db.pool, null, processor)).cancel.filter(
        (c) => c.limit === 'first_only',
      );
    // Its replica died before cancelling it: the task waits with no waiter left. The sweep
    // leaves the cancellation to that replica for 10 s, then carries it out itself.
    expect(await sweptFor()).toEqual([]);
    await db.pool.query(
      `UPDATE tasker.concurrency_cancellations SET created_at = created_at - interval '11 seconds'
        WHERE task_uuid = $1`,
      [second.taskUuid],
    );
    expect(await sweptFor()).toEqual([{ taskUuid: second.taskUuid, limit: 'first_only' }]);
    // Once the task has ended, the record goes.
    await endTask(db.pool, second.taskUuid, 'cancelled');
    expect(await sweptFor()).toEqual([]);
    const { rows } = await db.pool.query(
      `SELECT 1 FROM tasker.concurrency_cancellations WHERE task_uuid = $1`,
      [second.taskUuid],
    );
    expect(rows).toEqual([]);
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

  it('refuses to change a limit between task and step level, or fair and not, even for its own template', async () => {
    // Tasks already submitted hold and wait by the level and fairness they were submitted
    // under (tasks.slots): a task-level slot checked as a step's would count as free.
    const own = (level: 'task' | 'step', fairBy?: string) =>
      parseTemplate(
        {
          namespace: 'fixed',
          name: 'own',
          version: '1.0.0',
          ...(level === 'task' ? { concurrency: { name: 'acme', max_running: 1 } } : {}),
          steps: [
            {
              name: 'call',
              handler: 'h.call',
              ...(level === 'step'
                ? {
                    concurrency: {
                      name: 'acme',
                      max_running: 1,
                      ...(fairBy ? { fair_by: fairBy } : {}),
                    },
                  }
                : {}),
            },
          ],
        },
        'own.yaml',
      );
    await registerConcurrencyLimits(db.pool, own('task'));
    await expect(registerConcurrencyLimits(db.pool, own('step'))).rejects.toThrow(
      /concurrency limit acme is task-level and not fair_by \(declared by fixed\/own\); a limit's level and whether it is fair_by never change, as tasks submitted under it hold and wait by them: give the new declaration a name of its own/,
    );
    const { rows } = await db.pool.query<{ level: string }>(
      `SELECT level FROM tasker.concurrency_limits WHERE name = 'acme'`,
    );
    expect(rows[0]!.level).toBe('task');
    await db.pool.query(`DELETE FROM tasker.concurrency_limits WHERE name = 'acme'`);
    await registerConcurrencyLimits(db.pool, own('step', 'context.tenant'));
    await expect(registerConcurrencyLimits(db.pool, own('step'))).rejects.toThrow(
      /concurrency limit acme is step-level and fair_by/,
    );
    // Which path names the group is the template's own to change.
    await expect(
      registerConcurrencyLimits(db.pool, own('step', 'context.org')),
    ).resolves.toBeUndefined();
  });

  it('refuses a shared limit declared two ways by two templates registering at once', async () => {
    // Replicas of two deployments boot together. Each registration's check reads the limits
    // as they were when it began; the later one must see the earlier one's declaration.
    const declaring = (name: string, level: 'task' | 'step', max: number) =>
      parseTemplate(
        {
          namespace: 'racing',
          name,
          version: '1.0.0',
          ...(level === 'task' ? { concurrency: { name: 'raced', max_running: max } } : {}),
          steps: [
            {
              name: 'call',
              handler: 'h.call',
              ...(level === 'step' ? { concurrency: { name: 'raced', max_running: max } } : {}),
            },
          ],
        },
        `${name}.yaml`,
      );
    let failures: string[] = [];
    await inTransactions(2, async ([first, second]) => {
      await registerConcurrencyLimits(first!, declaring('one', 'task', 1));
      const registering = await runUntilBlocked(second!, (c) =>
        registerConcurrencyLimits(c, declaring('two', 'step', 5)),
      );
      await first!.query('COMMIT');
      failures = await commitInOrder([[second!, registering]]);
    });
    expect(failures).toEqual([
      expect.stringMatching(
        /concurrency limit raced is task-level and not fair_by \(declared by racing\/one\)/,
      ),
    ]);
    const { rows } = await db.pool.query(
      `SELECT level, max_running AS "maxRunning", declared_by AS "declaredBy"
         FROM tasker.concurrency_limits WHERE name = 'raced'`,
    );
    expect(rows).toEqual([{ level: 'task', maxRunning: 1, declaredBy: 'racing/one' }]);
  });

  it('refuses a shared limit fair in one template and not in another', async () => {
    const declaring = (name: string, fairBy?: string) =>
      parseTemplate(
        {
          namespace: 'shared',
          name,
          version: '1.0.0',
          steps: [
            {
              name: 'call',
              handler: 'h.call',
              concurrency: {
                name: 'pooled',
                max_running: 2,
                ...(fairBy ? { fair_by: fairBy } : {}),
              },
            },
          ],
        },
        `${name}.yaml`,
      );
    await registerConcurrencyLimits(db.pool, declaring('fair_one', 'context.tenant'));
    await expect(registerConcurrencyLimits(db.pool, declaring('plain_two'))).rejects.toThrow(
      /concurrency limit pooled is step-level and fair_by \(declared by shared\/fair_one\)/,
    );
    // Each template names its group by a path of its own context.
    await expect(
      registerConcurrencyLimits(db.pool, declaring('fair_two', 'context.account.tenant')),
    ).resolves.toBeUndefined();
  });
});
