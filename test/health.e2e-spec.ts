import pg from 'pg';
import { adminUrl, pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

/** Probes tell the truth: a dependency down is a 503 naming it, and recovery is a 200 again. */
describe('health probes through outages', () => {
  let tasker: TaskerHarness;
  let admin: pg.Client;

  beforeAll(async () => {
    tasker = await TaskerHarness.start();
    admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS true`);
    await admin?.end();
    await tasker?.stop();
  });

  const dbName = () => new URL(tasker.database.url).pathname.slice(1);

  async function probe(base: string, path = '/health/ready') {
    const reply = await fetch(`${base}${path}`);
    return {
      status: reply.status,
      body: (await reply.json()) as {
        status: string;
        error?: Record<string, { status: string; message?: string }>;
      },
    };
  }

  it('answers 503 naming the database while it refuses connections, 200 once it is back', async () => {
    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS false`);
    // Drop the apps' connections (not the harness's own pool) so they must reconnect.
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND application_name LIKE 'tasker%'`,
      [dbName()],
    );
    for (const base of [tasker.baseUrl, tasker.workerUrl]) {
      const down = await pollUntil(
        () => probe(base),
        (r) => r.status === 503,
        { description: `${base} to report the database down` },
      );
      expect(down.body.status).toBe('error');
      expect(down.body.error?.database?.status).toBe('down');
      // Liveness does not depend on the database.
      expect((await probe(base, '/health/live')).status).toBe(200);
    }

    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS true`);
    for (const base of [tasker.baseUrl, tasker.workerUrl]) {
      await pollUntil(
        () => probe(base),
        (r) => r.status === 200,
        { description: `${base} to recover` },
      );
    }
  });

  it('makes orchestration unready while the schema is not the version this build expects', async () => {
    await tasker.pool.query(
      `INSERT INTO tasker.schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')`,
    );
    try {
      const reply = await probe(tasker.baseUrl);
      expect(reply.status).toBe(503);
      expect(reply.body.error?.migrations?.message).toMatch(/schema version 9999/);
      // Workers do not own the schema and stay ready.
      expect((await probe(tasker.workerUrl)).status).toBe(200);
    } finally {
      await tasker.pool.query('DELETE FROM tasker.schema_migrations WHERE version = 9999');
    }
    expect((await probe(tasker.baseUrl)).status).toBe(200);
  });
});
