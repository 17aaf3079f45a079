import { randomUUID } from 'node:crypto';
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
  it('runs its connections without JIT, keeping what PGOPTIONS sets', async () => {
    for (const [pool, seqscan] of [
      [db.pool, 'off'],
      [db.monitoring, 'on'],
    ] as const) {
      const { rows } = await pool.query<{ jit: string; seqscan: string; work_mem: string }>(
        `SELECT current_setting('jit') AS jit, current_setting('enable_seqscan') AS seqscan,
                current_setting('work_mem') AS work_mem`,
      );
      expect(rows[0]).toEqual({ jit: 'off', seqscan, work_mem: '7MB' });
    }
  });

  // Every hot-path statement is prepared, and after five runs the server may keep a generic
  // plan until the table is analyzed: one made while the tables were small (a new system, the
  // bench's first phase) scanned all of `tasks` on every task move for good once autovacuum was
  // off or slow, and the orchestration drained a 20,000-step backlog at a quarter of its speed.
  // This is that statement's shape on the empty tasks table, its generic plan forced.
  it('never caches a whole-table scan for a statement that reaches its rows by key', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      const touch = `UPDATE tasker.tasks t SET updated_at = now()
                      WHERE t.task_uuid = ANY ($1::uuid[])
                        AND t.task_uuid IN (SELECT x FROM unnest($1::uuid[]) x)`;
      await client.query(touch, [[randomUUID()]]);
      const { rows: prepared } = await client.query<{ name: string }>(
        'SELECT name FROM pg_prepared_statements WHERE statement = $1',
        [touch],
      );
      // EXPLAIN EXECUTE shows the plan the prepared statement runs with.
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN EXECUTE ${prepared[0]!.name}('{${randomUUID()}}')`,
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan on tasks_pkey/);
      expect(plan).not.toMatch(/Seq Scan/);
    } finally {
      await client.query('RESET plan_cache_mode');
      client.release();
    }
  });
});
