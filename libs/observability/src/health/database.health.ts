import { Injectable } from '@nestjs/common';
import { Database } from '#persistence';
import type { ComponentHealth } from './component-health.js';

/** The database answers a trivial query through the pool the hot paths use. */
@Injectable()
export class DatabaseHealth implements ComponentHealth {
  readonly name = 'database';

  constructor(private readonly database: Database) {}

  async check(detailed: boolean): Promise<Record<string, unknown>> {
    await this.database.query('SELECT 1');
    if (!detailed) return {};
    const { totalCount, idleCount, waitingCount } = this.database.pool;
    return { pool: { total: totalCount, idle: idleCount, waiting: waitingCount } };
  }
}
