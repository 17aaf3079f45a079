import { ConfigError } from '#core';
import { ConfigRecorder, type ConfigVariable } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { parseDatabaseConfig } from './database.config.js';
import { parseLoggingConfig } from './logging.config.js';
import { parseMessagingConfig } from './messaging.config.js';
import { parseOrchestrationConfig } from './orchestration.config.js';
import { parseWorkerConfig } from './worker.config.js';

export const APP_NAMES = ['orchestration', 'worker'] as const;
export type AppName = (typeof APP_NAMES)[number];

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

/**
 * Every variable the app reads, by name, with the value it would run with: the same parsers as
 * at boot, so the same problems, all of them in one ConfigError. `secretsAtRunTime`: a required
 * secret that is missing is left for the run-time environment instead of being a problem.
 */
export function configVariables(
  app: AppName,
  values: ConfigValues,
  options: { secretsAtRunTime?: boolean } = {},
): ConfigVariable[] {
  const recorder = new ConfigRecorder(options.secretsAtRunTime);
  const parsers = [
    app === 'orchestration' ? parseOrchestrationConfig : parseWorkerConfig,
    parseDatabaseConfig,
    parseMessagingConfig,
    parseLoggingConfig,
  ];
  // Several namespaces read TASKER_ENV: report each problem once.
  const problems = new Set<string>();
  for (const parse of parsers) {
    try {
      parse(values, recorder);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      err.problems.forEach((problem) => problems.add(problem));
    }
  }
  if (problems.size > 0) throw new ConfigError([...problems]);
  return recorder.variables();
}

/** A variable's value fit to print: a URL's password and any other secret become `***`. */
export function redactedValue(variable: ConfigVariable): string | undefined {
  if (variable.value === undefined || !variable.secret) return variable.value;
  if (variable.secret === 'opaque') return '***';
  try {
    return redactUrl(variable.value);
  } catch {
    return '***';
  }
}

/** The URL with its password, if any, replaced by `***`. */
export function redactUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}
