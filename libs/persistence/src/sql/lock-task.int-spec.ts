import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#testing';
import { lockTask } from './lock-task.js';
import { transitionTask } from './transition-task.js';

describe('lockTask', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let taskUuid: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    const { rows } = await pool.query<{ task_uuid: string }>(
      `WITH ns AS (INSERT INTO tasker.task_namespaces (name) VALUES ('locks') RETURNING *),
            nt AS (INSERT INTO tasker.named_tasks
                     (task_namespace_uuid, name, version, identity_strategy, configuration)
                   SELECT task_namespace_uuid, 'lock_test', '1.0.0', 'always_unique', '{}'
                     FROM ns RETURNING *),
            t AS (INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, correlation_id)
                  SELECT named_task_uuid, '{}', 'lock-test', 'c' FROM nt RETURNING *)
       INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, most_recent)
       SELECT task_uuid, 'steps_in_process', 1, true FROM t RETURNING task_uuid`,
    );
    taskUuid = rows[0]!.task_uuid;
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  it('returns the state as of after the lock was released to it, not before it waited', async () => {
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('BEGIN');
      expect((await lockTask(first, taskUuid))?.state).toBe('steps_in_process');
      await second.query('BEGIN');
      const waiting = lockTask(second, taskUuid);
      // The second locker is now blocked behind the first, which moves the task on.
      await transitionTask(
        first,
        taskUuid,
        ['steps_in_process'],
        ['evaluating_results', 'waiting_for_dependencies'],
      );
      await first.query('COMMIT');
      expect((await waiting)?.state).toBe('waiting_for_dependencies');
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
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
