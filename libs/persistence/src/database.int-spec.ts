import { createTestDatabase, type TestDatabase } from '#testing';
import { Database } from './database.js';

describe('Database', () => {
  let database: TestDatabase;
  let db: Database;
  const pgOptions = process.env.PGOPTIONS;

  beforeAll(async () => {
    database = await createTestDatabase();
    process.env.PGOPTIONS = '-c work_mem=7MB';
    db = new Database({
      url: database.url,
      poolMax: 2,
      statementTimeoutMs: 30000,
      preparedStatements: true,
    });
  });

  afterAll(async () => {
    if (pgOptions === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = pgOptions;
    await db?.onApplicationShutdown();
    await database?.drop();
  });

  // JIT compiled the batch statements of the hot path on every run (their set-returning
  // functions make the planner expect huge row counts): 3.7 s of a 5.7 s total for the
  // orchestration's task locks in one bench drain, and 1.5 s for one staleness sweep.
  it('runs its connections without JIT and with custom plans, keeping what PGOPTIONS sets', async () => {
    for (const pool of [db.pool, db.monitoring]) {
      const { rows } = await pool.query<{ jit: string; plans: string; work_mem: string }>(
        `SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plans,
                current_setting('work_mem') AS work_mem`,
      );
      expect(rows[0]).toEqual({ jit: 'off', plans: 'force_custom_plan', work_mem: '7MB' });
    }
  });

  // Every hot-path statement is prepared. Left to plan_cache_mode=auto, the server switches a
  // statement to a generic plan after five runs and keeps it until the table is analyzed: one
  // made while the tables were small (a new system, the bench's first phase) scanned all of
  // `tasks` on every task move for good once autovacuum was off or slow, and the
  // orchestration drained a 20,000-step backlog at a quarter of its speed.
  it('plans each run of a prepared statement for the table as it is now, not as it was', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('CREATE TABLE grows (id int PRIMARY KEY, pad text)');
      const lookup = 'SELECT count(*) FROM grows WHERE id = ANY ($1::int[])';
      for (let i = 0; i < 8; i++) await client.query(lookup, [[1, 2, 3]]);
      await client.query(
        `INSERT INTO grows SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g`,
      );
      for (let i = 0; i < 8; i++) await client.query(lookup, [[1, 2, 3]]);
      const { rows: prepared } = await client.query<{ name: string; generic_plans: string }>(
        `SELECT name, generic_plans FROM pg_prepared_statements WHERE statement = $1`,
        [lookup],
      );
      expect(prepared).toEqual([{ name: expect.any(String), generic_plans: '0' }]);
      // EXPLAIN EXECUTE shows the plan the prepared statement runs with now.
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN EXECUTE ${prepared[0]!.name}('{1,2,3}')`,
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Seq Scan/);
    } finally {
      await client.query('DROP TABLE IF EXISTS grows');
      client.release();
    }
  });

  // Planned again on every call, the plpgsql functions called once per row of a batch (a
  // task lock, a step read) cost 0.4 ms a call and halved the orchestration's drain rate;
  // their primary-key lookups keep a cached plan (migration 0013).
  it('lets the per-row hot-path functions keep their plans for the session', async () => {
    const { rows } = await db.pool.query<{ name: string; config: string[] }>(
      `SELECT p.proname AS name, p.proconfig AS config FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'tasker' AND p.proname IN ('lock_task', 'step_row')
        ORDER BY p.proname`,
    );
    expect(rows).toEqual([
      { name: 'lock_task', config: ['plan_cache_mode=auto'] },
      { name: 'step_row', config: ['plan_cache_mode=auto'] },
    ]);
  });
});
