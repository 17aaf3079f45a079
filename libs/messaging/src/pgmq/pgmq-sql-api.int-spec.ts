// Contract tests for the PGMQ SQL API installed by migrations/0002_pgmq.sql. They are
// written against pgmq's documented semantics, so they hold for the real extension and for
// our SQL fallback alike.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, pollUntil } from '#testing';

interface MessageRow {
  msg_id: string;
  read_ct: number;
  enqueued_at: Date;
  vt: Date;
  message: unknown;
  headers: unknown;
}

interface MetricsRow {
  queue_name: string;
  queue_length: string;
  newest_msg_age_sec: number | null;
  oldest_msg_age_sec: number | null;
  total_messages: string;
  scrape_time: Date;
  queue_visible_length: string;
}

describe('PGMQ SQL API', () => {
  let database: { url: string; drop(): Promise<void> };
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 8 });
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  // Each test gets its own queue so tests stay independent of each other's leftovers.
  function queueName(label: string): string {
    return `t_${label}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  }

  async function createQueue(label: string): Promise<string> {
    const name = queueName(label);
    await pool.query('SELECT pgmq.create($1)', [name]);
    return name;
  }

  async function send(
    queue: string,
    message: unknown,
    delaySeconds = 0,
    client: pg.Pool | pg.Client = pool,
  ): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      'SELECT * FROM pgmq.send($1, $2::jsonb, $3::integer) AS id',
      [queue, JSON.stringify(message), delaySeconds],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!.id;
  }

  async function sendBatch(queue: string, messages: unknown[]): Promise<string[]> {
    const { rows } = await pool.query<{ id: string }>(
      'SELECT * FROM pgmq.send_batch($1, $2::jsonb[]) AS id',
      [queue, messages.map((m) => JSON.stringify(m))],
    );
    return rows.map((r) => r.id);
  }

  async function read(
    queue: string,
    vt: number,
    qty: number,
    client: pg.Pool | pg.Client = pool,
    conditional: unknown = {},
  ): Promise<MessageRow[]> {
    const { rows } = await client.query<MessageRow>(
      'SELECT * FROM pgmq.read($1, $2::integer, $3::integer, $4::jsonb)',
      [queue, vt, qty, JSON.stringify(conditional)],
    );
    return rows;
  }

  async function setVt(queue: string, msgId: string, vt: number): Promise<MessageRow[]> {
    const { rows } = await pool.query<MessageRow>(
      'SELECT * FROM pgmq.set_vt($1, $2::bigint, $3::integer)',
      [queue, msgId, vt],
    );
    return rows;
  }

  async function metrics(queue: string): Promise<MetricsRow> {
    const { rows } = await pool.query<MetricsRow>('SELECT * FROM pgmq.metrics($1)', [queue]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function dbNow(): Promise<Date> {
    const { rows } = await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return rows[0]!.now;
  }

  async function tableExists(table: string): Promise<boolean> {
    const { rows } = await pool.query<{ exists: boolean }>(
      `SELECT to_regclass(format('pgmq.%I', $1::text)) IS NOT NULL AS exists`,
      [table],
    );
    return rows[0]!.exists;
  }

  async function listedQueues(): Promise<string[]> {
    const { rows } = await pool.query<{ queue_name: string }>(
      'SELECT queue_name FROM pgmq.list_queues()',
    );
    return rows.map((r) => r.queue_name);
  }

  const ids = (rows: MessageRow[]) => rows.map((r) => r.msg_id);

  describe('create', () => {
    it('creates the queue and archive tables, and is idempotent', async () => {
      const name = queueName('create');
      await pool.query('SELECT pgmq.create($1)', [name]);
      const id = await send(name, { n: 1 });
      await pool.query('SELECT pgmq.create($1)', [name]);

      expect(await tableExists(`q_${name}`)).toBe(true);
      expect(await tableExists(`a_${name}`)).toBe(true);
      // Re-creating must neither fail nor wipe existing messages or duplicate the queue.
      expect(ids(await read(name, 30, 10))).toEqual([id]);
      expect((await listedQueues()).filter((q) => q === name)).toHaveLength(1);

      const { rows: listed } = await pool.query(
        'SELECT * FROM pgmq.list_queues() WHERE queue_name = $1',
        [name],
      );
      expect(listed).toEqual([
        {
          queue_name: name,
          is_partitioned: false,
          is_unlogged: false,
          created_at: expect.any(Date),
        },
      ]);

      const { rows: columns } = await pool.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'pgmq' AND table_name = $1 ORDER BY ordinal_position`,
        [`q_${name}`],
      );
      expect(columns.map((c) => [c.column_name, c.data_type])).toEqual([
        ['msg_id', 'bigint'],
        ['read_ct', 'integer'],
        ['enqueued_at', 'timestamp with time zone'],
        ['vt', 'timestamp with time zone'],
        ['message', 'jsonb'],
        ['headers', 'jsonb'],
      ]);
      const { rows: archiveColumns } = await pool.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = 'pgmq' AND table_name = $1`,
        [`a_${name}`],
      );
      expect(archiveColumns.map((c) => c.column_name).sort()).toEqual(
        ['archived_at', 'enqueued_at', 'headers', 'message', 'msg_id', 'read_ct', 'vt'].sort(),
      );
    });

    it('accepts a 47-character name', async () => {
      const name = `t_${'x'.repeat(45)}`;
      expect(name).toHaveLength(47);
      await pool.query('SELECT pgmq.create($1)', [name]);
      expect(await tableExists(`q_${name}`)).toBe(true);
      await pool.query('SELECT pgmq.drop_queue($1)', [name]);
    });

    it.each([
      ['a hyphen', 'with-hyphen'],
      ['a dot', 'with.dot'],
      ['a space', 'with space'],
    ])('accepts a name with %s, as pgmq does, through every call', async (_label, base) => {
      const name = `${base}_${randomUUID().slice(0, 8)}`;
      await pool.query('SELECT pgmq.create($1)', [name]);
      expect(await listedQueues()).toContain(name);
      const first = await send(name, { n: 1 });
      const second = await send(name, { n: 2 });
      expect(ids(await read(name, 30, 1))).toEqual([first]);
      await pool.query('SELECT pgmq.archive($1, $2::bigint)', [name, second]);
      expect(Number((await metrics(name)).total_messages)).toBe(2);
      expect(
        (await pool.query<{ d: boolean }>('SELECT pgmq.drop_queue($1) AS d', [name])).rows[0]!.d,
      ).toBe(true);
      expect(await tableExists(`q_${name}`)).toBe(false);
    });

    it.each([
      ['a quote', "x'); DROP TABLE pgmq.meta; --"],
      ['a dollar sign', 'bad$name'],
      ['a semicolon', 'bad;name'],
      ['a double dash', 'bad--name'],
    ])('rejects a name with %s, as pgmq does', async (_label, name) => {
      await expect(pool.query('SELECT pgmq.create($1)', [name])).rejects.toThrow(
        /queue name contains invalid characters/,
      );
      expect(await listedQueues()).not.toContain(name);
      await expect(
        pool.query('SELECT * FROM pgmq.send($1, $2::jsonb)', [name, '{}']),
      ).rejects.toThrow(/queue name contains invalid characters/);
    });

    it('rejects a name over 47 characters at create', async () => {
      const name = 'q'.repeat(48);
      await expect(pool.query('SELECT pgmq.create($1)', [name])).rejects.toThrow(
        /queue name is too long, maximum length is 47 characters/,
      );
      expect(await listedQueues()).not.toContain(name);
    });

    it('lets pg_monitor read the schema, the queues that exist and those created later', async () => {
      const queue = await createQueue('monitor');
      const { rows } = await pool.query<{ usage: boolean; queue: boolean; archive: boolean }>(
        `SELECT has_schema_privilege('pg_monitor', 'pgmq', 'USAGE') AS usage,
                has_table_privilege('pg_monitor', format('pgmq.%I', 'q_' || $1), 'SELECT') AS queue,
                has_table_privilege('pg_monitor', format('pgmq.%I', 'a_' || $1), 'SELECT') AS archive`,
        [queue],
      );
      expect(rows[0]).toEqual({ usage: true, queue: true, archive: true });
    });
  });

  describe('send and read', () => {
    it('reads messages oldest first, at most qty at a time', async () => {
      const queue = await createQueue('order');
      const a = await send(queue, { n: 'a' });
      const b = await send(queue, { n: 'b' });
      const c = await send(queue, { n: 'c' });
      expect(BigInt(a) < BigInt(b) && BigInt(b) < BigInt(c)).toBe(true);

      const first = await read(queue, 30, 2);
      expect(first.map((m) => [m.msg_id, m.message])).toEqual([
        [a, { n: 'a' }],
        [b, { n: 'b' }],
      ]);
      const second = await read(queue, 30, 2);
      expect(second.map((m) => [m.msg_id, m.message])).toEqual([[c, { n: 'c' }]]);
      expect(await read(queue, 30, 2)).toEqual([]);
    });

    it('sets vt to now + vt seconds and increments read_ct on every read', async () => {
      const queue = await createQueue('vt');
      const id = await send(queue, { n: 1 });

      const before = await dbNow();
      const [firstRead] = await read(queue, 30, 1);
      const after = await dbNow();
      expect(firstRead).toMatchObject({ msg_id: id, read_ct: 1, headers: null });
      expect(firstRead!.vt.getTime()).toBeGreaterThanOrEqual(before.getTime() + 30_000);
      expect(firstRead!.vt.getTime()).toBeLessThanOrEqual(after.getTime() + 30_000);
      expect(firstRead!.enqueued_at.getTime()).toBeLessThanOrEqual(before.getTime());

      // Invisible while the visibility timeout runs.
      expect(await read(queue, 30, 1)).toEqual([]);

      // set_vt(0) makes it visible again right away; the next read counts again.
      const [reset] = await setVt(queue, id, 0);
      expect(reset).toMatchObject({ msg_id: id, read_ct: 1 });
      expect(reset!.vt.getTime()).toBeLessThanOrEqual((await dbNow()).getTime());
      const [secondRead] = await read(queue, 30, 1);
      expect(secondRead).toMatchObject({ msg_id: id, read_ct: 2, message: { n: 1 } });
    });

    it('set_vt can hide a visible message and returns nothing for an unknown id', async () => {
      const queue = await createQueue('setvt');
      const id = await send(queue, { n: 1 });
      const before = await dbNow();
      const [hidden] = await setVt(queue, id, 60);
      expect(hidden!.vt.getTime()).toBeGreaterThanOrEqual(before.getTime() + 60_000);
      expect(hidden!.read_ct).toBe(0);
      expect(await read(queue, 30, 1)).toEqual([]);
      expect(await setVt(queue, '999999', 0)).toEqual([]);
    });

    it('makes messages visible again once vt passes, and delays sends by delay seconds', async () => {
      const queue = await createQueue('expiry');
      const readFirst = await send(queue, { n: 'read' });
      const delayed = await send(queue, { n: 'delayed' }, 1);

      expect(ids(await read(queue, 1, 10))).toEqual([readFirst]);
      // Neither the in-flight nor the delayed message is visible yet.
      expect(await read(queue, 1, 10)).toEqual([]);
      const m = await metrics(queue);
      expect(Number(m.queue_length)).toBe(2);
      expect(Number(m.queue_visible_length)).toBe(0);

      await pollUntil(
        () => metrics(queue),
        (now) => Number(now.queue_visible_length) === 2,
        { description: 'both messages to become visible', intervalMs: 50 },
      );

      const again = await read(queue, 30, 10);
      expect(again.map((r) => [r.msg_id, r.read_ct])).toEqual([
        [readFirst, 2],
        [delayed, 1],
      ]);
    });

    it('accepts an absolute timestamptz delay', async () => {
      const queue = await createQueue('delayts');
      const { rows: future } = await pool.query<{ id: string }>(
        `SELECT * FROM pgmq.send($1, '{"when":"future"}'::jsonb, clock_timestamp() + interval '1 hour') AS id`,
        [queue],
      );
      const { rows: past } = await pool.query<{ id: string }>(
        `SELECT * FROM pgmq.send($1, '{"when":"past"}'::jsonb, clock_timestamp() - interval '1 minute') AS id`,
        [queue],
      );
      expect(ids(await read(queue, 30, 10))).toEqual([past[0]!.id]);
      const { rows } = await pool.query<{ vt: Date }>(
        `SELECT vt FROM pgmq.${'q_' + queue} WHERE msg_id = $1`,
        [future[0]!.id],
      );
      expect(rows[0]!.vt.getTime() - (await dbNow()).getTime()).toBeGreaterThan(3_500_000);
    });

    it.each([
      ['send, seconds', 'SELECT * FROM pgmq.send($1, $2::jsonb, NULL::integer)'],
      ['send, a time', 'SELECT * FROM pgmq.send($1, $2::jsonb, NULL::timestamptz)'],
      ['send with headers', 'SELECT * FROM pgmq.send($1, $2::jsonb, NULL::jsonb, NULL::integer)'],
      ['send_batch', 'SELECT * FROM pgmq.send_batch($1, ARRAY[$2::jsonb], NULL::integer)'],
    ])('refuses a NULL delay (%s), as pgmq does, and stores nothing', async (_label, sql) => {
      const queue = await createQueue('null_delay');
      await expect(pool.query(sql, [queue, '{}'])).rejects.toThrow(/"vt"/);
      expect(Number((await metrics(queue)).queue_length)).toBe(0);
    });

    it('stores and returns headers', async () => {
      const queue = await createQueue('headers');
      const { rows } = await pool.query<{ id: string }>(
        'SELECT * FROM pgmq.send($1, $2::jsonb, $3::jsonb) AS id',
        [queue, JSON.stringify({ n: 1 }), JSON.stringify({ trace: 'abc' })],
      );
      const [message] = await read(queue, 30, 1);
      expect(message).toMatchObject({
        msg_id: rows[0]!.id,
        message: { n: 1 },
        headers: { trace: 'abc' },
      });
    });

    it('send_batch returns ids in input order', async () => {
      const queue = await createQueue('batch');
      const payloads = Array.from({ length: 25 }, (_, i) => ({ i }));
      const batchIds = await sendBatch(queue, payloads);

      expect(batchIds).toHaveLength(25);
      const numeric = batchIds.map(BigInt);
      expect([...numeric].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(numeric);
      expect(new Set(batchIds).size).toBe(25);

      const messages = await read(queue, 30, 100);
      expect(messages.map((m) => [m.msg_id, m.message])).toEqual(
        batchIds.map((id, i) => [id, payloads[i]]),
      );
    });

    it('send_batch honours delay and headers', async () => {
      const queue = await createQueue('batchdelay');
      const { rows: delayed } = await pool.query<{ id: string }>(
        'SELECT * FROM pgmq.send_batch($1, $2::jsonb[], $3::integer) AS id',
        [queue, ['{"d":1}', '{"d":2}'], 60],
      );
      expect(delayed).toHaveLength(2);
      expect(await read(queue, 30, 10)).toEqual([]);

      const { rows: withHeaders } = await pool.query<{ id: string }>(
        'SELECT * FROM pgmq.send_batch($1, $2::jsonb[], $3::jsonb[]) AS id',
        [queue, ['{"h":1}', '{"h":2}'], ['{"k":"one"}', '{"k":"two"}']],
      );
      const messages = await read(queue, 30, 10);
      expect(messages.map((m) => [m.msg_id, m.message, m.headers])).toEqual([
        [withHeaders[0]!.id, { h: 1 }, { k: 'one' }],
        [withHeaders[1]!.id, { h: 2 }, { k: 'two' }],
      ]);
    });

    it('filters with message @> conditional', async () => {
      const queue = await createQueue('cond');
      await send(queue, { kind: 'a', n: 1 });
      const b1 = await send(queue, { kind: 'b', n: 2, extra: { x: 1 } });
      await send(queue, { kind: 'a', n: 3 });
      const b2 = await send(queue, { kind: 'b', n: 4 });

      expect(ids(await read(queue, 30, 10, pool, { kind: 'b' }))).toEqual([b1, b2]);
      expect(await read(queue, 30, 10, pool, { kind: 'c' })).toEqual([]);
      // An empty condition matches everything still visible, including non-object messages.
      const scalar = await send(queue, 42);
      const rest = await read(queue, 30, 10);
      expect(rest.map((m) => m.message)).toEqual([{ kind: 'a', n: 1 }, { kind: 'a', n: 3 }, 42]);
      expect(rest[2]!.msg_id).toBe(scalar);
    });

    it('read_with_poll returns as soon as a message arrives, or empty after max_poll_seconds', async () => {
      const queue = await createQueue('poll');
      const poller = new pg.Client({ connectionString: database.url });
      await poller.connect();
      try {
        // A poll of up to 30 s that must end on the message's arrival, not at its limit: the
        // margin (half the poll, on the database's clock) leaves room for any load.
        const polling = poller.query<MessageRow>(
          'SELECT * FROM pgmq.read_with_poll($1, 30, 5, 30, 50)',
          [queue],
        );
        await pollUntil(
          async () =>
            (
              await pool.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE pid = $1 AND state = 'active' AND query LIKE '%read_with_poll%'`,
                [(poller as unknown as { processID: number }).processID],
              )
            ).rows[0]!.n,
          (n) => n === 1,
          { description: 'the poll to be running', intervalMs: 20 },
        );
        const id = await send(queue, { n: 'late' });
        const { rows } = await polling;
        expect(ids(rows)).toEqual([id]);
        expect(rows[0]!.read_ct).toBe(1);
        const { rows: waited } = await pool.query<{ ms: number }>(
          'SELECT extract(epoch FROM clock_timestamp() - $1::timestamptz)::float8 * 1000 AS ms',
          [rows[0]!.enqueued_at],
        );
        expect(waited[0]!.ms).toBeLessThan(15_000);

        const emptyStarted = Date.now();
        const { rows: none } = await poller.query(
          'SELECT * FROM pgmq.read_with_poll($1, 30, 5, 1, 100)',
          [queue],
        );
        expect(none).toEqual([]);
        expect(Date.now() - emptyStarted).toBeGreaterThanOrEqual(900);
      } finally {
        await poller.end();
      }
    });
  });

  describe('pop, delete and archive', () => {
    it('pop returns and deletes the oldest visible message', async () => {
      const queue = await createQueue('pop');
      const hidden = await send(queue, { n: 'hidden' }, 60);
      const first = await send(queue, { n: 'first' });
      const second = await send(queue, { n: 'second' });

      const { rows: popped } = await pool.query<MessageRow>('SELECT * FROM pgmq.pop($1)', [queue]);
      expect(popped).toEqual([
        expect.objectContaining({ msg_id: first, message: { n: 'first' }, read_ct: 0 }),
      ]);
      const { rows: next } = await pool.query<MessageRow>('SELECT * FROM pgmq.pop($1)', [queue]);
      expect(ids(next)).toEqual([second]);
      const { rows: none } = await pool.query('SELECT * FROM pgmq.pop($1)', [queue]);
      expect(none).toEqual([]);

      const { rows: left } = await pool.query<{ msg_id: string }>(
        `SELECT msg_id FROM pgmq.${'q_' + queue}`,
      );
      expect(left.map((r) => r.msg_id)).toEqual([hidden]);
    });

    it('delete removes one message and reports whether it existed', async () => {
      const queue = await createQueue('del');
      const id = await send(queue, { n: 1 });
      const keep = await send(queue, { n: 2 });
      const del = (msgId: string) =>
        pool.query<{ deleted: boolean }>('SELECT pgmq.delete($1, $2::bigint) AS deleted', [
          queue,
          msgId,
        ]);

      expect((await del(id)).rows[0]!.deleted).toBe(true);
      expect((await del(id)).rows[0]!.deleted).toBe(false);
      expect(ids(await read(queue, 30, 10))).toEqual([keep]);
    });

    it('delete with an array returns the ids that were deleted', async () => {
      const queue = await createQueue('delarr');
      const [a, b, c] = await sendBatch(queue, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      const { rows } = await pool.query<{ id: string }>(
        'SELECT * FROM pgmq.delete($1, $2::bigint[]) AS id',
        [queue, [a, c, '999999']],
      );
      expect(rows.map((r) => r.id).sort()).toEqual([a, c].sort());
      expect(ids(await read(queue, 30, 10))).toEqual([b]);
      expect(Number((await metrics(queue)).queue_length)).toBe(1);
    });

    it('archive moves a message to the archive table', async () => {
      const queue = await createQueue('arch');
      const id = await send(queue, { n: 1 });
      const keep = await send(queue, { n: 2 });
      await read(queue, 30, 1);

      const { rows } = await pool.query<{ archived: boolean }>(
        'SELECT pgmq.archive($1, $2::bigint) AS archived',
        [queue, id],
      );
      expect(rows[0]!.archived).toBe(true);
      const { rows: again } = await pool.query<{ archived: boolean }>(
        'SELECT pgmq.archive($1, $2::bigint) AS archived',
        [queue, id],
      );
      expect(again[0]!.archived).toBe(false);

      const { rows: archived } = await pool.query(`SELECT * FROM pgmq.${'a_' + queue}`);
      expect(archived).toEqual([
        expect.objectContaining({
          msg_id: id,
          read_ct: 1,
          message: { n: 1 },
          archived_at: expect.any(Date),
          enqueued_at: expect.any(Date),
          vt: expect.any(Date),
        }),
      ]);
      const { rows: remaining } = await pool.query<{ msg_id: string }>(
        `SELECT msg_id FROM pgmq.${'q_' + queue}`,
      );
      expect(remaining.map((r) => r.msg_id)).toEqual([keep]);
    });

    it('archive with an array returns the ids that were archived', async () => {
      const queue = await createQueue('archarr');
      const [a, b, c] = await sendBatch(queue, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      const { rows } = await pool.query<{ id: string }>(
        'SELECT * FROM pgmq.archive($1, $2::bigint[]) AS id',
        [queue, [a, b, '999999']],
      );
      expect(rows.map((r) => r.id).sort()).toEqual([a, b].sort());
      const { rows: archived } = await pool.query<{ msg_id: string }>(
        `SELECT msg_id FROM pgmq.${'a_' + queue} ORDER BY msg_id`,
      );
      expect(archived.map((r) => r.msg_id)).toEqual([a, b]);
      expect(ids(await read(queue, 30, 10))).toEqual([c]);
    });
  });

  describe('metrics, purge and drop', () => {
    it('reports queue length, visible length, all-time total and ages', async () => {
      const queue = await createQueue('metrics');
      const empty = await metrics(queue);
      expect(empty).toMatchObject({
        queue_name: queue,
        newest_msg_age_sec: null,
        oldest_msg_age_sec: null,
        scrape_time: expect.any(Date),
      });
      expect(Number(empty.queue_length)).toBe(0);
      expect(Number(empty.queue_visible_length)).toBe(0);
      expect(Number(empty.total_messages)).toBe(0);

      const [a, b] = await sendBatch(queue, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      await send(queue, { n: 4 }, 60);
      await read(queue, 30, 1); // a becomes invisible
      await pool.query('SELECT pgmq.delete($1, $2::bigint)', [queue, b]);
      // Backdate the oldest message so the ages differ measurably without sleeping.
      await pool.query(
        `UPDATE pgmq.${'q_' + queue} SET enqueued_at = enqueued_at - interval '100 seconds' WHERE msg_id = $1`,
        [a],
      );

      const m = await metrics(queue);
      expect(m.queue_name).toBe(queue);
      expect(Number(m.queue_length)).toBe(3); // a, c, delayed
      expect(Number(m.queue_visible_length)).toBe(1); // only c
      expect(Number(m.total_messages)).toBe(4); // counts the deleted b too
      expect(m.oldest_msg_age_sec).toBeGreaterThanOrEqual(99);
      expect(m.oldest_msg_age_sec).toBeLessThanOrEqual(102);
      expect(m.newest_msg_age_sec).toBeGreaterThanOrEqual(0);
      expect(m.newest_msg_age_sec).toBeLessThanOrEqual(2);
      expect(Math.abs(m.scrape_time.getTime() - (await dbNow()).getTime())).toBeLessThan(5_000);

      const { rows: all } = await pool.query<MetricsRow>('SELECT * FROM pgmq.metrics_all()');
      const mine = all.find((r) => r.queue_name === queue);
      expect(mine).toBeDefined();
      expect(Number(mine!.queue_length)).toBe(3);
      expect(Number(mine!.total_messages)).toBe(4);
    });

    it('purge_queue deletes every message and returns how many', async () => {
      const queue = await createQueue('purge');
      await sendBatch(queue, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      await send(queue, { n: 4 }, 60);
      const { rows } = await pool.query<{ purged: string }>(
        'SELECT pgmq.purge_queue($1) AS purged',
        [queue],
      );
      expect(Number(rows[0]!.purged)).toBe(4);
      const m = await metrics(queue);
      expect(Number(m.queue_length)).toBe(0);
      expect(Number(m.total_messages)).toBe(4);
      expect(await read(queue, 30, 10)).toEqual([]);
      // The queue itself survives a purge.
      const next = await send(queue, { n: 5 });
      expect(ids(await read(queue, 30, 10))).toEqual([next]);
    });

    it('drop_queue(name, partitioned), deprecated in pgmq, still drops the queue', async () => {
      const queue = await createQueue('drop_old');
      const { rows } = await pool.query<{ dropped: boolean }>(
        'SELECT pgmq.drop_queue($1, false) AS dropped',
        [queue],
      );
      expect(rows[0]!.dropped).toBe(true);
      expect(await tableExists(`q_${queue}`)).toBe(false);
      expect(await listedQueues()).not.toContain(queue);
    });

    it('detach_archive takes a queue and leaves its archive in place', async () => {
      const queue = await createQueue('detach');
      const id = await send(queue, { n: 1 });
      await pool.query('SELECT pgmq.archive($1, $2::bigint)', [queue, id]);
      await pool.query('SELECT pgmq.detach_archive($1)', [queue]);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgmq.${pg.escapeIdentifier(`a_${queue}`)}`,
      );
      expect(rows[0]!.n).toBe(1);
      await expect(pool.query('SELECT pgmq.detach_archive($1)', ['bad;name'])).rejects.toThrow(
        /invalid characters/,
      );
    });

    it('drop_queue removes the tables and the catalog entry', async () => {
      const queue = await createQueue('drop');
      await send(queue, { n: 1 });
      const drop = () =>
        pool.query<{ dropped: boolean }>('SELECT pgmq.drop_queue($1) AS dropped', [queue]);

      expect((await drop()).rows[0]!.dropped).toBe(true);
      expect(await tableExists(`q_${queue}`)).toBe(false);
      expect(await tableExists(`a_${queue}`)).toBe(false);
      expect(await listedQueues()).not.toContain(queue);
      expect((await drop()).rows[0]!.dropped).toBe(false);

      // A dropped queue can be created again from scratch.
      await pool.query('SELECT pgmq.create($1)', [queue]);
      expect(Number((await metrics(queue)).queue_length)).toBe(0);
    });
  });

  describe('concurrency', () => {
    async function connect(): Promise<pg.Client> {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return client;
    }

    it('two readers in open transactions never receive the same message', async () => {
      const queue = await createQueue('skip');
      const sent = await sendBatch(
        queue,
        Array.from({ length: 5 }, (_, i) => ({ i })),
      );
      const readerA = await connect();
      const readerB = await connect();
      try {
        await readerA.query('BEGIN');
        await readerB.query('BEGIN');

        const gotA = ids(await read(queue, 30, 3, readerA));
        // B must skip A's uncommitted claims instead of blocking on them or reading them.
        const gotB = ids(await read(queue, 30, 5, readerB));
        expect(gotA).toEqual(sent.slice(0, 3));
        expect(gotB).toEqual(sent.slice(3));
        expect(gotA.filter((id) => gotB.includes(id))).toEqual([]);

        // When A rolls back, its claims are released and become readable again.
        await readerA.query('ROLLBACK');
        const gotBAgain = ids(await read(queue, 30, 5, readerB));
        expect(gotBAgain).toEqual(sent.slice(0, 3));
        await readerB.query('COMMIT');

        expect(await read(queue, 30, 10)).toEqual([]);
      } finally {
        await readerA.end();
        await readerB.end();
      }
    });

    it('many concurrent readers receive every message exactly once', async () => {
      const queue = await createQueue('fanout');
      const sent = await sendBatch(
        queue,
        Array.from({ length: 300 }, (_, i) => ({ i })),
      );
      const readers = await Promise.all(Array.from({ length: 4 }, () => connect()));
      try {
        const received = await Promise.all(
          readers.map(async (client) => {
            const got: string[] = [];
            for (;;) {
              await client.query('BEGIN');
              const batch = ids(await read(queue, 30, 7, client));
              await client.query('COMMIT');
              if (batch.length === 0) return got;
              got.push(...batch);
            }
          }),
        );
        const all = received.flat();
        expect(all).toHaveLength(sent.length);
        expect(new Set(all).size).toBe(sent.length);
        expect([...all].sort()).toEqual([...sent].sort());
      } finally {
        await Promise.all(readers.map((client) => client.end()));
      }
    });
  });
});
