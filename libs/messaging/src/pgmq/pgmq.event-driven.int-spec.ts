import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createEnvelope } from '#contracts';
import type { ReceivedMessage } from '#core';
import { Database } from '#persistence';
import { adminUrl, createTestDatabase, pollUntil, type TestDatabase } from '#testing';
import { PgmqMessageBus } from './pgmq.message-bus.js';

/** A pool whose first queue read runs `beforeFirstRead` first and `afterFirstRead` after. */
class FirstReadHookDatabase extends Database {
  private hooked = false;
  beforeFirstRead: () => Promise<void> = () => Promise.resolve();
  afterFirstRead: () => Promise<void> = () => Promise.resolve();

  override async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    if (this.hooked || !sql.includes('next_visible_in_ms')) return super.query<R>(sql, params);
    this.hooked = true;
    await this.beforeFirstRead();
    const rows = await super.query<R>(sql, params);
    await this.afterFirstRead();
    return rows;
  }
}

/**
 * EventDrivenOnly must be correct alone: no notice may be missed between subscribing and
 * listening, and a delayed redelivery is awaited by the database's clock, not a sender's.
 */
describe('pgmq EventDrivenOnly: timing of reads', () => {
  let testDatabase: TestDatabase;
  let admin: pg.Client;
  const opened: { bus: PgmqMessageBus; database: Database }[] = [];

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await testDatabase?.drop();
  });

  afterEach(async () => {
    for (const { bus, database } of opened.splice(0).reverse()) {
      await bus.close();
      await database.onApplicationShutdown();
    }
  });

  function open(database: Database = newDatabase()): PgmqMessageBus {
    const bus = new PgmqMessageBus(database, {
      databaseUrl: testDatabase.url,
      events: {
        mode: 'EventDrivenOnly',
        pollIntervalMs: 100,
        fallbackPollIntervalMs: 1000,
        fallbackPollMinAgeMs: 1000,
      },
    });
    opened.push({ bus, database });
    return bus;
  }

  function newDatabase(): FirstReadHookDatabase {
    return new FirstReadHookDatabase({
      url: testDatabase.url,
      poolMax: 3,
      statementTimeoutMs: 30000,
      preparedStatements: true,
    });
  }

  async function newQueue(bus: PgmqMessageBus): Promise<string> {
    const queue = `timing_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await bus.ensureQueue(queue);
    return queue;
  }

  function message(label: string) {
    const uuid = randomUUID();
    return createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: label, namespace: 'timing' },
      { correlationId: uuid },
    );
  }

  const labelOf = (m: ReceivedMessage) => (m.body as ReturnType<typeof message>).payload.stepName;

  /** Whether the tasker-listen connection of this database has LISTENed on `queue`'s channel. */
  async function listening(queue: string): Promise<boolean> {
    const { rows } = await admin.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = $1 AND application_name = 'tasker-listen' AND state = 'idle'
          AND query = $2`,
      [new URL(testDatabase.url).pathname.slice(1), `LISTEN "tasker_message_ready.${queue}"`],
    );
    return rows.length === 1;
  }

  it('LISTENs before its first read, so a message sent right after that read is notified', async () => {
    const sender = open();
    const queue = await newQueue(sender);
    const database = newDatabase();
    const bus = open(database);
    let sourceAtFirstRead: string | null = null;
    let listeningAtFirstRead = false;
    database.beforeFirstRead = async () => {
      sourceAtFirstRead = bus.status().source;
      listeningAtFirstRead = await listening(queue);
    };
    // The first read found the queue empty; this send's notice is all that can bring it.
    database.afterFirstRead = () => sender.send(queue, message('between'));
    const got: string[] = [];
    await bus.subscribe(
      [queue],
      async (m) => {
        got.push(labelOf(m));
        await bus.ack(m);
      },
      { prefetch: 4, visibilityTimeoutMs: 30000 },
    );
    expect(sourceAtFirstRead).toBe('connected');
    await pollUntil(
      () => Promise.resolve(got),
      (labels) => labels.length === 1,
      { description: 'the message sent after the first read' },
    );
    expect(got).toEqual(['between']);
    // The first read (whose hooks have run: the message was sent by the second) saw LISTEN.
    expect(listeningAtFirstRead).toBe(true);
  });

  it("wakes for a delayed nack when the database's vt comes, whatever the nacker's clock says", async () => {
    const nacker = open();
    const queue = await newQueue(nacker);
    await nacker.send(queue, message('nacked'));
    const [held] = await nacker.receive(queue, { maxMessages: 1, visibilityTimeoutMs: 30000 });
    expect(held).toBeDefined();

    const bus = open();
    const got: ReceivedMessage[] = [];
    await bus.subscribe(
      [queue],
      async (m) => {
        got.push(m);
        await bus.ack(m);
      },
      { prefetch: 4, visibilityTimeoutMs: 30000 },
    );
    // The nacking process's clock runs an hour ahead; only its own calls see that.
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000;
    let nacked: Promise<void>;
    try {
      nacked = nacker.nack(held!, { delayMs: 1000 });
    } finally {
      Date.now = realNow;
    }
    await nacked;
    const nackedAt = Date.now();
    await pollUntil(
      () => Promise.resolve(got.length),
      (n) => n === 1,
      { description: 'the nacked message, about a second later', timeoutMs: 10000 },
    );
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(1000 - 25);
    expect(labelOf(got[0]!)).toBe('nacked');
    expect(got[0]!.deliveryCount).toBe(2);
  });
});
