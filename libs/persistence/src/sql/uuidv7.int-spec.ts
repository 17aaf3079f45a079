import { useDatabasePool } from '#testing';

/**
 * tasker.uuid_generate_v7, every table's key default: RFC 9562 version 7 (48-bit Unix
 * milliseconds, then random bits), so keys made later sort later across milliseconds.
 */
describe('tasker.uuid_generate_v7', () => {
  const db = useDatabasePool(1);

  it('makes version-7 keys of the RFC variant, stamped with the clock’s milliseconds', async () => {
    const { rows } = await db.pool.query<{ id: string; before: string; after: string }>(
      `SELECT id::text,
              before::text, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS after
         FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS before) b,
              LATERAL (SELECT tasker.uuid_generate_v7() AS id FROM generate_series(1, 500)) g`,
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(500);
    for (const { id, before, after } of rows) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = BigInt(`0x${id.slice(0, 8)}${id.slice(9, 13)}`);
      expect(ms >= BigInt(before) && ms <= BigInt(after)).toBe(true);
    }
  });

  it('orders keys made in later milliseconds after earlier ones', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows } = await db.pool.query<{ id: string }>(
        `SELECT tasker.uuid_generate_v7()::text AS id FROM pg_sleep(0.002)`,
      );
      keys.push(rows[0]!.id);
    }
    expect([...keys].sort()).toEqual(keys);
  });

  it('is the default of a key column, so an insert takes a fresh key per row', async () => {
    const { rows } = await db.pool.query<{ n: number; v7: number }>(
      `WITH ns AS (
         INSERT INTO tasker.task_namespaces (name)
         SELECT 'uuidv7_' || g FROM generate_series(1, 50) g
         RETURNING task_namespace_uuid
       )
       SELECT count(DISTINCT task_namespace_uuid)::int AS n,
              count(*) FILTER (WHERE substring(task_namespace_uuid::text, 15, 1) = '7')::int AS v7
         FROM ns`,
    );
    expect(rows[0]).toEqual({ n: 50, v7: 50 });
  });
});
