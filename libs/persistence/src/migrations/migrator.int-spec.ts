import pg from 'pg';
import { createEmptyDatabase, type TestDatabase } from '#testing';
import { loadMigrations, Migrator, SchemaTooNewError } from './migrator.js';

describe('Migrator', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createEmptyDatabase();
  });

  afterEach(async () => {
    await database.drop();
  });

  async function appliedVersions(): Promise<number[]> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM tasker.schema_migrations ORDER BY version',
      );
      return rows.map((r) => r.version);
    } finally {
      await client.end();
    }
  }

  it('numbers migrations 1..N without gaps', async () => {
    const migrations = await loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it('three migrators started at once apply every migration exactly once', async () => {
    const all = (await loadMigrations()).map((m) => m.version);
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        new Migrator({ databaseUrl: database.url, timeoutSeconds: 60 }).migrate(),
      ),
    );
    // Exactly one of them did the work; the others waited on the lock and found nothing to do.
    expect(results.filter((applied) => applied.length > 0)).toEqual([all]);
    expect(await appliedVersions()).toEqual(all);
    await expect(
      new Migrator({ databaseUrl: database.url }).assertCurrent(),
    ).resolves.toBeUndefined();
  });

  it('refuses a schema newer than the build knows', async () => {
    await new Migrator({ databaseUrl: database.url }).migrate();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(
      "INSERT INTO tasker.schema_migrations (version, name, checksum) VALUES (999, 'from_the_future', 'x')",
    );
    await client.end();
    await expect(new Migrator({ databaseUrl: database.url }).migrate()).rejects.toBeInstanceOf(
      SchemaTooNewError,
    );
    await expect(new Migrator({ databaseUrl: database.url }).assertCurrent()).rejects.toThrow(
      /999/,
    );
  });

  it('a no-migrate check fails on a database that is behind', async () => {
    await expect(new Migrator({ databaseUrl: database.url }).assertCurrent()).rejects.toThrow(
      /behind this build/,
    );
  });

  it('gives up on an unreachable database after its retries, naming the failure', async () => {
    const migrator = new Migrator({
      databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
      retries: 1,
      timeoutSeconds: 5,
    });
    await expect(migrator.migrate()).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
