import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '#persistence';

/** Readiness: the database answers a trivial query within the timeout. */
@Injectable()
export class DatabaseHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly database: Database,
  ) {}

  check(timeoutMs: number) {
    return this.indicators
      .check('database')
      .attempt(async () => {
        await this.database.query('SELECT 1');
      })
      .withTimeout(timeoutMs);
  }
}
