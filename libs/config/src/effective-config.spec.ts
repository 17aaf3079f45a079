import { ConfigError } from '#core';
import { effectiveConfig } from './effective-config.js';

describe('effective config', () => {
  const values = {
    TASKER_ENV: 'production',
    DATABASE_URL: 'postgres://tasker:s3cret-db@db:5432/tasker',
    TASKER_MESSAGING_BACKEND: 'rabbitmq',
    RABBITMQ_URL: 'amqp://tasker:s3cret-mq@mq:5672',
    TASKER_WORKER_CONCURRENCY: '4',
  };

  it('shows every namespace of the app with the passwords redacted', () => {
    const config = effectiveConfig('worker', values);
    const printed = JSON.stringify(config);
    expect(printed).not.toMatch(/s3cret/);
    expect(config).toMatchObject({
      worker: { concurrency: 4 },
      database: { url: 'postgres://tasker:***@db:5432/tasker' },
      messaging: { backend: 'rabbitmq', rabbitmq: { url: 'amqp://tasker:***@mq:5672' } },
      logging: { format: 'json' },
    });
    expect(config).not.toHaveProperty('orchestration');
  });

  it('never shows an API key', () => {
    const config = effectiveConfig('orchestration', {
      ...values,
      TASKER_API_KEYS: 'operator-key-0123456789:write,dashboard-key-0123456:read',
    });
    expect(JSON.stringify(config)).not.toMatch(/0123456/);
    expect(config.orchestration).toMatchObject({
      apiKeys: [
        { key: '***', scope: 'write' },
        { key: '***', scope: 'read' },
      ],
    });
  });

  it('fails like the boot would, naming the variable', () => {
    expect(() => effectiveConfig('orchestration', { ...values, DEPLOYMENT_MODE: 'often' })).toThrow(
      ConfigError,
    );
  });
});
