import pg from 'pg';
import { adminUrl, createTestDatabase } from './test-database.js';

describe('test databases', () => {
  it('fail the drop when a connection was left open, and drop the database all the same', async () => {
    const database = await createTestDatabase();
    const leaked = new pg.Client({
      connectionString: database.url,
      application_name: 'leaky-test',
    });
    await leaked.connect();
    leaked.on('error', () => undefined); // the drop terminates it

    await expect(database.drop()).rejects.toThrow(
      /1 connection\(s\) at drop \(a leak\).*leaky-test/,
    );

    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      const name = new URL(database.url).pathname.slice(1);
      const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
      await leaked.end().catch(() => undefined);
    }
  });

  it('drop quietly once every connection is closed', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.end();
    await expect(database.drop()).resolves.toBeUndefined();
  });
});
