import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { resetConfigSourceForTests } from '#config';
import { createTestDatabase, type TestDatabase } from '#testing';
import { createOrchestrationApp } from '../bootstrap/create-orchestration-app.js';

/**
 * For integration specs: `count` orchestration replicas booted in-process on a fresh migrated
 * database (PGMQ, PollingOnly, the example templates, no scheduler timer) and a small pool on
 * it, for the enclosing `describe`. Read the fields inside the tests (they exist once they run).
 */
export function useOrchestrationReplicas(count: number): {
  readonly replicas: INestApplication[];
  readonly pool: pg.Pool;
} {
  let database: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  const replicas: INestApplication[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      TASKER_MESSAGING_BACKEND: 'pgmq',
      TASKER_EVENT_MODE: 'PollingOnly',
      TASKER_TEMPLATE_PATH: 'config/tasks',
      TASKER_SCHEDULER_ENABLED: 'false',
      TASKER_DB_POOL_MAX: '4',
      TASKER_ENV: 'test',
    });
    resetConfigSourceForTests();
    for (let i = 0; i < count; i++) {
      replicas.push(await createOrchestrationApp({ logger: ['error'] }));
    }
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    for (const app of replicas) await app.close();
    await pool?.end();
    await database?.drop();
  });
  return {
    replicas,
    get pool(): pg.Pool {
      if (!pool) throw new Error('useOrchestrationReplicas: the pool exists only inside tests');
      return pool;
    },
  };
}
