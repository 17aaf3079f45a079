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
    for (const pool of [db.pool, db.monitoring]) {
      const { rows } = await pool.query<{ jit: string; work_mem: string }>(
        `SELECT current_setting('jit') AS jit, current_setting('work_mem') AS work_mem`,
      );
      expect(rows[0]).toEqual({ jit: 'off', work_mem: '7MB' });
    }
  });
});
