import pg from 'pg';
import { QUEUE_DEPTH_MAX_AGE_MS } from '#messaging';
import { pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

/** An advisory lock key the slowed depth function waits on. */
const DEPTH_GATE = 7001;
const PROBES = 8;

/**
 * Unauthenticated /metrics and /health/detailed read queue depths. However many arrive and
 * however slow counting is, they cost the database one read at a time on a connection of their
 * own, which the server cancels at the probe timeout; the hot path keeps its pool.
 */
describe('queue-depth probes under load', () => {
  let tasker: TaskerHarness;
  let admin: pg.Client;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      // A small hot-path pool, and a statement timeout far past the test's waits, so that
      // probes holding hot-path connections would show.
      env: { TASKER_DB_POOL_MAX: '3', TASKER_DB_STATEMENT_TIMEOUT_MS: '120000' },
    });
    admin = new pg.Client({ connectionString: tasker.database.url });
    await admin.connect();
    // Counting a queue now counts itself (a sequence: not rolled back when the read is
    // cancelled) and then waits for DEPTH_GATE while the test holds it.
    await admin.query(`
      CREATE SEQUENCE public.depth_reads;
      ALTER FUNCTION pgmq.metrics(text) RENAME TO metrics_unslowed;
      CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM nextval('public.depth_reads');
        PERFORM pg_advisory_xact_lock_shared(${DEPTH_GATE});
        RETURN pgmq.metrics_unslowed(queue_name);
      END $$;`);
  });

  afterAll(async () => {
    await admin?.end();
    await tasker?.stop();
  });

  async function waitingForGate(): Promise<string[]> {
    const { rows } = await tasker.pool.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.objid = $1 AND NOT l.granted`,
      [DEPTH_GATE],
    );
    return rows.map((r) => r.application_name);
  }

  it('reads depths once for concurrent probes, off the hot-path pool, cancelled at the probe timeout', async () => {
    await admin.query('SELECT pg_advisory_lock($1)', [DEPTH_GATE]);
    const started = Date.now();
    const probes = Array.from({ length: PROBES }, (_, i) =>
      fetch(`${tasker.baseUrl}${i % 2 ? '/metrics' : '/health/detailed'}`).then(async (r) => {
        await r.text();
        return { status: r.status, at: Date.now() };
      }),
    );
    try {
      // One read, on the dedicated connection, is stuck behind the gate.
      const stuck = await pollUntil(waitingForGate, (names) => names.length > 0, {
        description: 'a depth read to wait for the gate',
      });
      expect(stuck).toEqual(['tasker-monitor']);

      // The hot path still runs a task through while depth reads are stuck.
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'linear',
        context: { n: 2 },
      });
      await tasker.waitForStatus(taskUuid, ['complete']);

      // The probe timeout cancelled the read in the database, though the gate is still held.
      await pollUntil(waitingForGate, (names) => names.length === 0, {
        description: 'the stuck depth read to be cancelled',
      });
      const answers = await Promise.all(probes);
      // /health/detailed reports the broker down (its depths timed out); /metrics still answers.
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((_, i) => i % 2 === 1)).toEqual(Array(PROBES / 2).fill(200));
      expect(statuses.filter((_, i) => i % 2 === 0)).toEqual(Array(PROBES / 2).fill(503));
      const { rows } = await admin.query<{ reads: string }>(
        'SELECT last_value AS reads FROM public.depth_reads',
      );
      // Reads start at least QUEUE_DEPTH_MAX_AGE_MS apart, however many probes come.
      const spanMs = Math.max(...answers.map((a) => a.at)) - started;
      expect(Number(rows[0]!.reads)).toBeLessThanOrEqual(
        1 + Math.floor(spanMs / QUEUE_DEPTH_MAX_AGE_MS),
      );
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [DEPTH_GATE]);
      await Promise.allSettled(probes);
    }
  });
});
