import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { errorMessage } from '#core';
import { defaultMigrationsDir } from './migrations-dir.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigratorOptions {
  databaseUrl: string;
  migrationsDir?: string;
  /** Whole-run deadline, lock wait included (DB_MIGRATION_TIMEOUT). */
  timeoutSeconds?: number;
  /** Extra tries after a transient failure: connection refused, lock timeout (DB_MIGRATION_RETRIES). */
  retries?: number;
}

export interface MigrationStatus {
  applied: number[];
  pending: Migration[];
  /** Versions in the database that this code does not know: it is older than the schema. */
  unknown: number[];
}

/** Any key works as long as every migrator uses the same one. */
const MIGRATION_LOCK_KEY = 7_241_003_117;
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export class SchemaTooNewError extends Error {
  constructor(unknown: number[]) {
    super(
      `the database schema has migrations this build does not know (${unknown.join(', ')}); ` +
        'refusing to start: deploy a build at least as new as the schema',
    );
  }
}

export async function loadMigrations(dir = defaultMigrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new Error(`migration file ${file} must be named NNNN_snake_name.sql`);
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2] ?? file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `migrations must be numbered 1..N without gaps: found ${m.version} at ${i + 1}`,
      );
    }
  });
  return migrations;
}

/**
 * Applies migrations forward-only under a session advisory lock, so N replicas starting at
 * once apply each migration once; the others wait, then find nothing to do.
 */
export class Migrator {
  private readonly logger = new Logger('Migrator');

  constructor(private readonly options: MigratorOptions) {}

  async migrate(): Promise<number[]> {
    const retries = this.options.retries ?? 3;
    const deadline = Date.now() + (this.options.timeoutSeconds ?? 300) * 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.withLockedClient(deadline, (client) => this.applyPending(client));
      } catch (err) {
        const transient = isTransient(err);
        if (!transient || attempt >= retries || Date.now() >= deadline) throw err;
        const delayMs = Math.min(1000 * 2 ** attempt, 15000, Math.max(0, deadline - Date.now()));
        this.logger.warn(
          `migration attempt ${attempt + 1} failed (${errorMessage(err)}); retrying in ${delayMs} ms`,
        );
        await sleep(delayMs);
      }
    }
  }

  async status(): Promise<MigrationStatus> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    // A connection lost mid-query also rejects the query; the event alone must not crash us.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await this.readStatus(client);
    } finally {
      await client.end();
    }
  }

  /** For apps that do not migrate: fail unless the schema is exactly what this build expects. */
  async assertCurrent(): Promise<void> {
    const status = await this.status();
    if (status.unknown.length > 0) throw new SchemaTooNewError(status.unknown);
    if (status.pending.length > 0) {
      throw new Error(
        `the database schema is behind this build (pending: ${status.pending
          .map((m) => m.version)
          .join(', ')}); run the orchestration migrations first`,
      );
    }
  }

  private async withLockedClient<T>(
    deadline: number,
    work: (client: pg.Client) => Promise<T>,
  ): Promise<T> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: Math.max(1000, deadline - Date.now()),
      application_name: 'tasker-migrator',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const remaining = Math.max(1, deadline - Date.now());
      await client.query(`SET lock_timeout = ${remaining}`);
      await client.query(`SET statement_timeout = ${remaining}`);
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        return await work(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      await client.end();
    }
  }

  private async applyPending(client: pg.Client): Promise<number[]> {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS tasker;
      CREATE TABLE IF NOT EXISTS tasker.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const status = await this.readStatus(client);
    if (status.unknown.length > 0) throw new SchemaTooNewError(status.unknown);
    const applied: number[] = [];
    for (const migration of status.pending) {
      const started = Date.now();
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO tasker.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.checksum],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(
          `migration ${migration.version}_${migration.name} failed: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      applied.push(migration.version);
      this.logger.log(
        `applied migration ${migration.version}_${migration.name} in ${Date.now() - started} ms`,
      );
    }
    return applied;
  }

  private async readStatus(client: pg.Client): Promise<MigrationStatus> {
    const known = await loadMigrations(this.options.migrationsDir);
    const exists = await client.query<{ present: boolean }>(
      `SELECT to_regclass('tasker.schema_migrations') IS NOT NULL AS present`,
    );
    const rows = exists.rows[0]?.present
      ? (
          await client.query<{ version: number; checksum: string }>(
            'SELECT version, checksum FROM tasker.schema_migrations ORDER BY version',
          )
        ).rows
      : [];
    const knownByVersion = new Map(known.map((m) => [m.version, m]));
    for (const row of rows) {
      const m = knownByVersion.get(row.version);
      if (m && m.checksum !== row.checksum) {
        throw new Error(
          `migration ${m.version}_${m.name} was changed after it was applied; migrations are forward-only: add a new one`,
        );
      }
    }
    const appliedSet = new Set(rows.map((r) => r.version));
    return {
      applied: rows.map((r) => r.version),
      pending: known.filter((m) => !appliedSet.has(m.version)),
      unknown: rows.map((r) => r.version).filter((v) => !knownByVersion.has(v)),
    };
  }
}

function isTransient(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  return (
    code.startsWith('08') || // connection exceptions
    code === '55P03' || // lock_not_available (lock_timeout)
    code === '57P03' || // cannot_connect_now (starting up)
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'ENOTFOUND'
  );
}
