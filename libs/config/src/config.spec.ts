import { ConfigError } from '#core';
import { parseDatabaseConfig } from './database.config.js';
import { parseMessagingConfig } from './messaging.config.js';
import { parseOrchestrationConfig } from './orchestration.config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config namespaces', () => {
  it('apply documented defaults', () => {
    expect(parseOrchestrationConfig({})).toMatchObject({
      port: 8080,
      deploymentMode: 'standard',
      migrationTimeoutSeconds: 300,
      migrationRetries: 3,
      templatePath: 'config/tasks',
    });
    expect(parseMessagingConfig({}).backend).toBe('pgmq');
  });

  it('reject an unknown backend, naming the variable', () => {
    expect(problemsOf(() => parseMessagingConfig({ TASKER_MESSAGING_BACKEND: 'kafka' }))).toEqual([
      'TASKER_MESSAGING_BACKEND must be one of pgmq (got "kafka")',
    ]);
  });

  it('list every problem at once', () => {
    const problems = problemsOf(() =>
      parseOrchestrationConfig({
        DEPLOYMENT_MODE: 'sometimes',
        PORT: 'eighty',
        DB_MIGRATION_RETRIES: '-1',
      }),
    );
    expect(problems).toHaveLength(3);
    for (const name of ['DEPLOYMENT_MODE', 'PORT', 'DB_MIGRATION_RETRIES']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
  });

  it('require DATABASE_URL in production and never print its value', () => {
    expect(problemsOf(() => parseDatabaseConfig({ TASKER_ENV: 'production' }))).toEqual([
      'DATABASE_URL is required',
    ]);
    const secret = 'mysql://admin:hunter2@db/x';
    const problems = problemsOf(() => parseDatabaseConfig({ DATABASE_URL: secret }));
    expect(problems.join(' ')).toMatch(/DATABASE_URL/);
    expect(problems.join(' ')).not.toContain('hunter2');
  });
});
