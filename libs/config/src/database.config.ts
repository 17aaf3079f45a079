import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import type { ConfigRecorder } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv } from './tasker-env.js';

export interface DatabaseConfig {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  /**
   * Prepare the hot path's parameterized statements once per connection. Off behind a pooler
   * that cannot keep them (PgBouncer in transaction mode before 1.21).
   */
  preparedStatements: boolean;
}

export function parseDatabaseConfig(
  values: ConfigValues,
  recorder?: ConfigRecorder,
): DatabaseConfig {
  const read = new ConfigReader(values, recorder);
  const env = readTaskerEnv(read);
  // A local default only where a developer runs things by hand; production must say where.
  const fallback = env === 'production' ? undefined : 'postgres://postgres@127.0.0.1:5432/tasker';
  return read.done({
    url: read.secretUrl('DATABASE_URL', ['postgres:', 'postgresql:'], fallback),
    poolMax: read.integer('TASKER_DB_POOL_MAX', 10, 1, 500),
    statementTimeoutMs: read.integer('TASKER_DB_STATEMENT_TIMEOUT_MS', 30000, 100, 3600000),
    preparedStatements: read.boolean('TASKER_DB_PREPARED_STATEMENTS', true),
  });
}

export const databaseConfig = registerAs('database', () => parseDatabaseConfig(configSource()));
