import type { Command } from 'commander';
import { errorMessage } from '#core';
import type { Migrator } from '#persistence';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable, type OutputFormat, outputOption, printJson, writeOut } from '../output.js';
import { StderrLogger } from '../stderr.logger.js';

/**
 * `migrate [up|status]`: orchestration's own migrator (createMigrator), configured from the
 * same variables: DATABASE_URL, DB_MIGRATION_TIMEOUT, DB_MIGRATION_RETRIES, TASKER_CONFIG_PATH.
 */
export function registerMigrateCommands(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('apply or inspect database migrations, as orchestration does at boot');

  migrate
    .command('up', { isDefault: true })
    .description('apply pending migrations under the advisory lock (the default)')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      const applied = await withDatabase((migrator) => migrator.migrate());
      if (options.output === 'json') return printJson({ applied });
      writeOut(
        applied.length > 0
          ? `applied migrations ${applied.join(', ')}`
          : 'the schema is current: nothing to apply',
      );
    });

  migrate
    .command('status')
    .description('list applied and pending migrations')
    .option('--check', "exit 1 unless the schema is exactly this build's")
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat; check?: boolean }) => {
      const status = await withDatabase((migrator) => migrator.status());
      const { loadMigrations } = await import('#persistence');
      const known = await loadMigrations();
      const current = status.pending.length === 0 && status.unknown.length === 0;
      if (options.output === 'json') {
        printJson({
          current,
          applied: status.applied,
          pending: status.pending.map(({ version, name }) => ({ version, name })),
          unknown: status.unknown,
        });
      } else {
        const applied = new Set(status.applied);
        writeOut(
          formatTable(
            ['version', 'name', 'state'],
            [
              ...known.map((m) => [
                String(m.version),
                m.name,
                applied.has(m.version) ? 'applied' : 'pending',
              ]),
              ...status.unknown.map((v) => [String(v), '?', 'unknown to this build']),
            ],
          ),
        );
      }
      if (options.check && !current) {
        throw new CliError(
          ExitCode.Failed,
          status.unknown.length > 0
            ? `the schema is newer than this build (unknown: ${status.unknown.join(', ')})`
            : `${status.pending.length} migrations are pending`,
        );
      }
    });
}

/**
 * Runs migrator work; a database that cannot be reached is a connection error (exit 3). The
 * database code loads only here: other commands start faster without it.
 */
async function withDatabase<T>(work: (migrator: Migrator) => Promise<T>): Promise<T> {
  await import('reflect-metadata');
  const { Logger } = await import('@nestjs/common');
  const { loadConfigSource, parseDatabaseConfig, redactUrl } = await import('#config');
  const { createMigrator } = await import('../../../orchestration/src/bootstrap/run-migrations.js');
  Logger.overrideLogger(new StderrLogger());
  const values = loadConfigSource(process.env);
  const migrator = createMigrator(values);
  try {
    return await work(migrator);
  } catch (err) {
    if (!isConnectionFailure(err)) throw err;
    const where = redactUrl(parseDatabaseConfig(values).url);
    throw new CliError(
      ExitCode.Connection,
      `cannot reach the database at ${where}: ${errorMessage(err) || String(code(err))}`,
    );
  }
}

function code(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** Network failures, and PostgreSQL refusing the connection itself (auth, missing database). */
function isConnectionFailure(err: unknown): boolean {
  const value = code(err);
  if (typeof value !== 'string') return false;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(value) ||
    value.startsWith('08') || // connection exception
    value.startsWith('28') || // invalid authorization
    value === '3D000' || // the database does not exist
    value === '57P03' // the server is starting up
  );
}
