import { Injectable } from '@nestjs/common';
import type { ComponentHealth } from '#observability';
import { Database, loadMigrations } from '#persistence';

/**
 * The schema is at exactly this build's latest migration: another replica migrating further
 * (a newer build rolling out) or a schema left behind makes this replica unready.
 */
@Injectable()
export class MigrationsHealth implements ComponentHealth {
  readonly name = 'migrations';
  private expected: Promise<number> | undefined;

  constructor(private readonly database: Database) {}

  async check(): Promise<Record<string, unknown>> {
    this.expected ??= loadMigrations().then((all) => Math.max(0, ...all.map((m) => m.version)));
    const expected = await this.expected;
    const [row] = await this.database.query<{ version: number }>(
      'SELECT coalesce(max(version), 0)::int AS version FROM tasker.schema_migrations',
    );
    const version = row?.version ?? 0;
    if (version !== expected) {
      throw new Error(`schema version ${version}, this build expects ${expected}`);
    }
    return { version };
  }
}
