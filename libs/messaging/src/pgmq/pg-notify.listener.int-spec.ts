import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createEnvelope } from '#contracts';
import { Database } from '#persistence';
import { adminUrl, createTestDatabase, pollUntil, type TestDatabase } from '#testing';
import { PgmqMessageBus } from './pgmq.message-bus.js';

/**
 * The LISTEN connection of an EventDrivenOnly replica is killed and kept out for a while:
 * readiness reports it, it reconnects by itself, and what was sent while it was away (those
 * notifications are lost for good) is read by the catch-up after the reconnect.
 */
describe('pg_notify source reconnect', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let bus: PgmqMessageBus;
  let admin: pg.Client;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await testDatabase?.drop();
  });

  beforeEach(() => {
    database = new Database({
      url: testDatabase.url,
      poolMax: 4,
      statementTimeoutMs: 30000,
      preparedStatements: true,
    });
    bus = new PgmqMessageBus(database, {
      databaseUrl: testDatabase.url,
      events: {
        mode: 'EventDrivenOnly',
        pollIntervalMs: 100,
        fallbackPollIntervalMs: 1000,
        fallbackPollMinAgeMs: 1000,
      },
    });
  });

  afterEach(async () => {
    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS true`);
    await bus.close();
    await database.onApplicationShutdown();
  });

  const dbName = () => new URL(testDatabase.url).pathname.slice(1);

  const listeners = async () =>
    (
      await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tasker-listen'`,
        [dbName()],
      )
    ).rows.map((r) => r.pid);

  function message() {
    const uuid = randomUUID();
    return createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: 's', namespace: 'listen' },
      { correlationId: uuid },
    );
  }

  /** A new queue with a subscriber that acks everything; `got` lists what it received. */
  async function subscribeNewQueue() {
    const queue = `listen_${randomUUID().slice(0, 8)}`;
    await bus.ensureQueue(queue);
    const got: string[] = [];
    await bus.subscribe(
      [queue],
      async (m) => {
        got.push(m.id);
        await bus.ack(m);
      },
      { prefetch: 4, visibilityTimeoutMs: 30000 },
    );
    return { queue, got };
  }

  it('delivers a message through its notification', async () => {
    const { queue, got } = await subscribeNewQueue();
    expect(await listeners()).toHaveLength(1);
    await bus.send(queue, message());
    await pollUntil(
      () => Promise.resolve(got.length),
      (n) => n === 1,
      { description: 'delivery' },
    );
    expect(bus.status().source).toBe('connected');
  });

  it('reconnects after pg_terminate_backend and catches up on what was sent meanwhile', async () => {
    const { queue, got } = await subscribeNewQueue();
    // Warm the pool so sends need no new connection while the database refuses them.
    await bus.ping();
    const [killed] = await listeners();
    expect(killed).toBeDefined();

    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend($1)', [killed]);
    await pollUntil(
      () => Promise.resolve(bus.status().source),
      (s) => s !== 'connected',
      {
        description: 'the listener to notice',
      },
    );
    expect(bus.status()).toEqual({
      backend: 'pgmq',
      delivery: 'notify',
      source: 'connecting',
      reconnects: 1,
      malformedNotices: 0,
    });
    await bus.send(queue, message());
    await bus.send(queue, message());
    // Nobody is listening: nothing is read while the connection is out.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(got).toHaveLength(0);

    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS true`);
    await pollUntil(
      () => Promise.resolve(got.length),
      (n) => n === 2,
      {
        description: 'the catch-up read after the reconnect',
        timeoutMs: 15000,
      },
    );
    const now = await listeners();
    expect(now).toHaveLength(1);
    expect(now).not.toContain(killed);
    expect(bus.status().source).toBe('connected');
  });

  it('closes while it is reconnecting: no connection is opened afterwards and no retry is left running', async () => {
    await subscribeNewQueue();
    const [killed] = await listeners();
    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend($1)', [killed]);
    await pollUntil(
      () => Promise.resolve(bus.status().reconnects),
      (n) => n === 1,
      { description: 'the listener to start reconnecting' },
    );
    await bus.close();
    expect(bus.status().source).toBe('idle');
    await admin.query(`ALTER DATABASE "${dbName()}" ALLOW_CONNECTIONS true`);
    // A retry still scheduled would connect now: give it more than the longest backoff (5 s)
    // and look for the connection on the server.
    const seen = await pollUntil(listeners, (pids) => pids.length > 0, {
      timeoutMs: 7000,
      intervalMs: 100,
    }).catch(() => []);
    expect(seen).toEqual([]);
  });
});
