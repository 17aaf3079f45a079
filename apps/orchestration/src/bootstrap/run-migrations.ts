import { Logger } from '@nestjs/common';
import { parseDatabaseConfig, parseOrchestrationConfig, type ConfigValues } from '#config';
import { Migrator } from '#persistence';

/**
 * The migrator orchestration runs, from its configuration: DATABASE_URL, DB_MIGRATION_TIMEOUT
 * and DB_MIGRATION_RETRIES. `tasker-ctl migrate` uses this one too.
 */
export function createMigrator(values: ConfigValues): Migrator {
  const database = parseDatabaseConfig(values);
  const config = parseOrchestrationConfig(values);
  return new Migrator({
    databaseUrl: database.url,
    timeoutSeconds: config.migrationTimeoutSeconds,
    retries: config.migrationRetries,
  });
}

/**
 * What DEPLOYMENT_MODE asks of the schema before the app serves: `standard` and `migrate-only`
 * apply pending migrations (under the advisory lock, with DB_MIGRATION_TIMEOUT/RETRIES);
 * `no-migrate` only checks that the schema is exactly what this build expects. Every mode
 * refuses a schema newer than the build.
 */
export async function prepareSchema(values: ConfigValues): Promise<void> {
  const migrator = createMigrator(values);
  const logger = new Logger('Migrations');
  if (parseOrchestrationConfig(values).deploymentMode === 'no-migrate') {
    await migrator.assertCurrent();
    logger.log('schema is current (DEPLOYMENT_MODE=no-migrate)');
    return;
  }
  const applied = await migrator.migrate();
  logger.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is current');
}
