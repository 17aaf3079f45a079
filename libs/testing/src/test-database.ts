import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadMigrations, Migrator } from '#persistence';
import { TEMPLATE_LOCK_KEY } from './test-services.mjs';

export interface TestDatabase {
  readonly url: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** The server to create databases on: DATABASE_URL's host, or the local default. */
export function adminUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

function urlFor(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A fresh database with every migration applied, cloned from a template database whose name
 * carries a hash of the migrations: the template is built once per migration set, and a changed
 * migration builds a new one instead of reusing a stale schema.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const migrations = await loadMigrations();
  const hash = createHash('sha256')
    .update(migrations.map((m) => m.checksum).join(','))
    .digest('hex')
    .slice(0, 12);
  const template = `tasker_template_${hash}`;
  const name = `tasker_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'tasker\\_template\\_%'`,
    );
    for (const stale of rows.filter((r) => r.datname !== template)) {
      await admin.query(`DROP DATABASE IF EXISTS "${stale.datname}" WITH (FORCE)`);
    }
    if (!rows.some((r) => r.datname === template)) {
      // Build under a temporary name and rename when complete, so a crash mid-build never
      // leaves a half-migrated template behind under the real name.
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${building}"`);
      await new Migrator({ databaseUrl: urlFor(building) }).migrate();
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    }
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }

  return { url: urlFor(name), drop: () => dropDatabase(name) };
}

/** An empty database (no migrations), for migrator tests. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `tasker_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return { url: urlFor(name), drop: () => dropDatabase(name) };
}

/**
 * Drops a test database. Connections still open to it after a grace period are a leak in the
 * test (a pool or client not ended): the database is dropped all the same (its connections
 * terminated), then the drop fails naming them, so the leak fails the test's teardown.
 */
async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    const deadline = Date.now() + 5000;
    let holders: { application_name: string; state: string | null }[] = [];
    do {
      ({ rows: holders } = await client.query<{ application_name: string; state: string | null }>(
        'SELECT application_name, state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      ));
      if (holders.length > 0) await sleep(50);
    } while (holders.length > 0 && Date.now() < deadline);
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    if (holders.length > 0) {
      throw new Error(
        `test database ${name} still had ${holders.length} connection(s) at drop (a leak): ${JSON.stringify(holders)}`,
      );
    }
  } finally {
    await client.end();
  }
}

/**
 * A fresh migrated database and a small pool on it for the enclosing `describe`: created in
 * beforeAll, dropped in afterAll. Read `pool` inside the tests (it exists only once they run).
 */
export function useDatabasePool(max = 2): { readonly pool: pg.Pool } {
  let database: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });
  return {
    get pool(): pg.Pool {
      if (!pool) throw new Error('useDatabasePool: the pool exists only inside tests');
      return pool;
    },
  };
}
