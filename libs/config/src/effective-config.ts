import { configSource, type ConfigValues } from './config-source.js';
import { parseDatabaseConfig } from './database.config.js';
import { parseLoggingConfig } from './logging.config.js';
import { parseMessagingConfig } from './messaging.config.js';
import { parseOrchestrationConfig } from './orchestration.config.js';
import { parseWorkerConfig } from './worker.config.js';

export type AppName = 'orchestration' | 'worker';

/**
 * The configuration an app would run with (TASKER_CONFIG_PATH file, env on top, defaults),
 * validated exactly as at boot, with the passwords in URLs replaced by `***`.
 */
export function effectiveConfig(
  app: AppName,
  values: ConfigValues = configSource(),
): Record<string, unknown> {
  const messaging = parseMessagingConfig(values);
  const database = parseDatabaseConfig(values);
  const orchestration = app === 'orchestration' ? parseOrchestrationConfig(values) : undefined;
  const own = orchestration
    ? {
        ...orchestration,
        apiKeys: orchestration.apiKeys.map(({ scope }) => ({ key: '***', scope })),
      }
    : parseWorkerConfig(values);
  return {
    [app]: own,
    database: { ...database, url: redactUrl(database.url) },
    messaging: {
      ...messaging,
      rabbitmq: messaging.rabbitmq && {
        ...messaging.rabbitmq,
        url: redactUrl(messaging.rabbitmq.url),
      },
    },
    logging: parseLoggingConfig(values),
  };
}

/** `node main.js config`: the effective configuration as JSON on stdout. */
export function printEffectiveConfig(app: AppName): void {
  process.stdout.write(`${JSON.stringify(effectiveConfig(app), null, 2)}\n`);
}

function redactUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}
