import { configProblemsOf } from '#testing';
import { parseDatabaseConfig } from './database.config.js';
import { parseLoggingConfig } from './logging.config.js';
import { parseMessagingConfig } from './messaging.config.js';
import { parseOrchestrationConfig } from './orchestration.config.js';

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
    expect(
      configProblemsOf(() => parseMessagingConfig({ TASKER_MESSAGING_BACKEND: 'kafka' })),
    ).toEqual(['TASKER_MESSAGING_BACKEND must be one of pgmq, rabbitmq (got "kafka")']);
  });

  it('read RabbitMQ settings only for the rabbitmq backend, with a local default outside production', () => {
    expect(parseMessagingConfig({}).rabbitmq).toBeUndefined();
    expect(parseMessagingConfig({ TASKER_MESSAGING_BACKEND: 'rabbitmq' }).rabbitmq).toEqual({
      url: 'amqp://guest:guest@127.0.0.1:5672',
      reconnectInitialMs: 100,
      reconnectMaxMs: 5000,
      operationTimeoutMs: 15000,
    });
    expect(
      configProblemsOf(() =>
        parseMessagingConfig({ TASKER_MESSAGING_BACKEND: 'rabbitmq', TASKER_ENV: 'production' }),
      ),
    ).toEqual(['RABBITMQ_URL is required']);
  });

  it('reject a RabbitMQ URL of another scheme without printing it', () => {
    const problems = configProblemsOf(() =>
      parseMessagingConfig({
        TASKER_MESSAGING_BACKEND: 'rabbitmq',
        RABBITMQ_URL: 'http://admin:hunter2@mq:5672',
        TASKER_RABBITMQ_RECONNECT_MAX_MS: '1',
      }),
    );
    expect(problems).toEqual([
      'RABBITMQ_URL must be a URL with scheme amqp: or amqps:',
      'TASKER_RABBITMQ_RECONNECT_MAX_MS must be an integer from 100 to 300000 (got "1")',
    ]);
    expect(problems.join(' ')).not.toContain('hunter2');
  });

  it('log JSON outside development and reject an unknown level by name', () => {
    expect(parseLoggingConfig({})).toEqual({ level: 'info', format: 'pretty' });
    expect(parseLoggingConfig({ TASKER_ENV: 'production' }).format).toBe('json');
    expect(configProblemsOf(() => parseLoggingConfig({ TASKER_LOG_LEVEL: 'loud' }))).toEqual([
      'TASKER_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal (got "loud")',
    ]);
  });

  it('read scoped API keys, refusing short keys and unknown scopes without printing them', () => {
    expect(
      parseOrchestrationConfig({
        TASKER_API_KEYS: 'a-long-operator-key-1:write, a-long-reader-key-22:read',
      }).apiKeys,
    ).toEqual([
      { key: 'a-long-operator-key-1', scope: 'write' },
      { key: 'a-long-reader-key-22', scope: 'read' },
    ]);
    const problems = configProblemsOf(() =>
      parseOrchestrationConfig({ TASKER_API_KEYS: 'k7x:read,a-long-operator-key-1:admin' }),
    );
    expect(problems).toEqual([
      'TASKER_API_KEYS entry 1 is shorter than 16 characters',
      'TASKER_API_KEYS entry 2 has scope "admin"; use read or write',
    ]);
    expect(problems.join(' ')).not.toMatch(/k7x|operator-key/);
  });

  it('list every problem at once', () => {
    const problems = configProblemsOf(() =>
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

  it('read the scheduler switch as a strict boolean', () => {
    expect(parseOrchestrationConfig({}).schedulerEnabled).toBe(true);
    expect(parseOrchestrationConfig({ TASKER_SCHEDULER_ENABLED: 'FALSE' }).schedulerEnabled).toBe(
      false,
    );
    expect(
      configProblemsOf(() => parseOrchestrationConfig({ TASKER_SCHEDULER_ENABLED: 'no' })),
    ).toEqual(['TASKER_SCHEDULER_ENABLED must be true or false (got "no")']);
  });

  it('require DATABASE_URL in production and never print its value', () => {
    expect(configProblemsOf(() => parseDatabaseConfig({ TASKER_ENV: 'production' }))).toEqual([
      'DATABASE_URL is required',
    ]);
    const secret = 'mysql://admin:hunter2@db/x';
    const problems = configProblemsOf(() => parseDatabaseConfig({ DATABASE_URL: secret }));
    expect(problems.join(' ')).toMatch(/DATABASE_URL/);
    expect(problems.join(' ')).not.toContain('hunter2');
  });
});
