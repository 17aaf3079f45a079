import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import pg from 'pg';
import { databaseConfig } from '#config';

export type Queryable = Pick<pg.PoolClient, 'query'>;

const statementNames = new Map<string, string>();

/** The same name for the same text in every connection: a hash of it. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `tasker_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A client that turns every `query(text, values)` into a named (prepared) statement: the
 * server parses and plans each hot-path statement once per connection instead of on every
 * call, which is most of its cost for the short statements of the hot path. Statements
 * without parameters (BEGIN, COMMIT) go as they are.
 */
class PreparingClient extends pg.Client {}
const plainQuery = Object.getOwnPropertyDescriptor(pg.Client.prototype, 'query')?.value as (
  ...args: unknown[]
) => unknown;
PreparingClient.prototype.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const [text, values] = args;
  if (typeof text === 'string' && Array.isArray(values)) {
    args.splice(0, 2, { name: statementName(text), text, values });
  }
  return Reflect.apply(plainQuery, this, args);
} as pg.Client['query'];

/**
 * How long a monitoring read may run: the server cancels it then (statement_timeout), and a
 * caller waiting for the monitoring connection gives up. Health probes use the same limit.
 */
export const MONITORING_TIMEOUT_MS = 2000;

/**
 * Session settings of every Tasker connection, after what PGOPTIONS sets (which they would
 * otherwise replace). JIT off: the hot path's batch statements call set-returning functions the
 * planner expects a thousand rows from, so their cost passed jit_above_cost and every run was
 * compiled: 3.7 s of the 5.7 s the orchestration's task locks took in one bench drain, and
 * 1.5 s of a staleness sweep. Short OLTP statements never gain from it.
 */
export function connectionOptions(pgOptions: string | undefined = process.env.PGOPTIONS): string {
  return [pgOptions?.trim(), '-c jit=off'].filter(Boolean).join(' ');
}

/**
 * What the hot-path pool adds: no sequential scan where an index can answer. Its statements are
 * prepared, and after five runs the server may keep a generic plan for the rest of the session,
 * costed for the tables as they were then (until an ANALYZE, which autovacuum may be slow to
 * run, or never: it is off on some servers, this project's CI among them). One cached while the
 * tables were small scanned all of `tasks` on every task move once they had grown, and the
 * orchestration drained a backlog at a quarter of its speed. Every hot-path statement reaches
 * its rows by key, so an index plan is right at any size; a statement with no usable index
 * still scans. Planning every run instead (plan_cache_mode=force_custom_plan) cost 0.3-2.7 ms a
 * statement and 28% of the drain rate.
 */
const HOT_PATH_OPTIONS = '-c enable_seqscan=off';

/** The pg pool for hand-written SQL (hot paths); TypeORM keeps its own small pool for reads. */
@Injectable()
export class Database implements OnApplicationShutdown {
  readonly pool: pg.Pool;
  /**
   * One connection for monitoring reads (queue depths) that anyone may trigger through
   * /metrics and /health/detailed: they never take or wait for a hot-path connection, run
   * one at a time, and cannot outlive MONITORING_TIMEOUT_MS in the server.
   */
  readonly monitoring: pg.Pool;
  private readonly logger = new Logger(Database.name);

  constructor(@Inject(databaseConfig.KEY) config: ConfigType<typeof databaseConfig>) {
    // pg.Pool connects lazily: nothing happens here until the first query.
    this.pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      statement_timeout: config.statementTimeoutMs,
      application_name: 'tasker',
      options: `${connectionOptions()} ${HOT_PATH_OPTIONS}`,
      ...(config.preparedStatements ? { Client: PreparingClient } : {}),
    });
    this.monitoring = new pg.Pool({
      connectionString: config.url,
      max: 1,
      statement_timeout: MONITORING_TIMEOUT_MS,
      connectionTimeoutMillis: MONITORING_TIMEOUT_MS,
      application_name: 'tasker-monitor',
      options: connectionOptions(),
    });
    // An idle client the server dropped (restart, failover, pg_terminate_backend) is an
    // 'error' on the pool; unheard it would crash the process. The pool replaces the client.
    for (const pool of [this.pool, this.monitoring]) {
      pool.on('error', (err) => {
        this.logger.warn(`idle database connection lost: ${err.message}`);
      });
    }
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    const result = await this.pool.query<R>(sql, params);
    return result.rows;
  }

  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client whose connection dies between two statements emits 'error' with no
    // pool listener attached: unheard, that crashes the process. The next statement fails
    // anyway, rolling the transaction back; release(err) then discards the broken client.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Last shutdown phase: consumers drain in beforeApplicationShutdown and still need the pool. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.pool.end(), this.monitoring.end()]);
  }
}
