import { ConfigError } from '#core';
import { configVariables, effectiveConfig, redactedValue } from './effective-config.js';

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

  describe('by variable', () => {
    const byName = (app: 'orchestration' | 'worker', v: Record<string, string>) =>
      Object.fromEntries(configVariables(app, v).map((variable) => [variable.name, variable]));

    it('lists every variable the app reads with the value it runs with, defaults marked', () => {
      const variables = byName('orchestration', { TASKER_ENV: 'test', PORT: '9000' });
      expect(variables.PORT).toEqual({
        name: 'PORT',
        value: '9000',
        defaulted: false,
        secret: false,
      });
      expect(variables.DEPLOYMENT_MODE).toMatchObject({ value: 'standard', defaulted: true });
      expect(variables.TASKER_LOG_FORMAT).toMatchObject({ value: 'json', defaulted: true });
      expect(variables.DATABASE_URL).toMatchObject({ defaulted: true, secret: 'url' });
      expect(variables.TASKER_API_KEYS).toMatchObject({ value: undefined, secret: 'opaque' });
      expect(variables).not.toHaveProperty('TASKER_WORKER_CONCURRENCY');
      expect(variables).not.toHaveProperty('RABBITMQ_URL');
      expect(byName('worker', values)).toHaveProperty('RABBITMQ_URL');
    });

    it('collects the problems of every namespace, each once', () => {
      let problems: string[] = [];
      try {
        configVariables('worker', { TASKER_ENV: 'staging', TASKER_WORKER_CONCURRENCY: '0' });
      } catch (err) {
        if (err instanceof ConfigError) problems = err.problems;
      }
      expect(problems).toEqual([
        'TASKER_ENV must be one of development, test, production (got "staging")',
        'TASKER_WORKER_CONCURRENCY must be an integer from 1 to 1000 (got "0")',
      ]);
    });

    it('leaves missing secrets to run time only when asked', () => {
      const production = { TASKER_ENV: 'production', TASKER_MESSAGING_BACKEND: 'rabbitmq' };
      expect(() => configVariables('worker', production)).toThrow(/DATABASE_URL is required/);
      const variables = configVariables('worker', production, { secretsAtRunTime: true });
      expect(variables.find((v) => v.name === 'RABBITMQ_URL')).toMatchObject({ value: undefined });
    });

    it('redacts secrets for display', () => {
      const variables = byName('orchestration', {
        ...values,
        TASKER_API_KEYS: 'operator-key-0123456789:write',
      });
      expect(redactedValue(variables.DATABASE_URL!)).toBe('postgres://tasker:***@db:5432/tasker');
      expect(redactedValue(variables.TASKER_API_KEYS!)).toBe('***');
      expect(redactedValue(variables.PORT!)).toBe('8080');
    });
  });
});
