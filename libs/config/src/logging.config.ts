import { ConfigReader } from './config-reader.js';
import type { ConfigRecorder } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv } from './tasker-env.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;

export interface LoggingConfig {
  level: LogLevel;
  /** JSON lines for collectors; pretty for a developer's terminal. */
  format: (typeof LOG_FORMATS)[number];
}

export function parseLoggingConfig(values: ConfigValues, recorder?: ConfigRecorder): LoggingConfig {
  const read = new ConfigReader(values, recorder);
  const env = readTaskerEnv(read);
  return read.done({
    level: read.enumValue('TASKER_LOG_LEVEL', LOG_LEVELS, 'info'),
    format: read.enumValue(
      'TASKER_LOG_FORMAT',
      LOG_FORMATS,
      env === 'development' ? 'pretty' : 'json',
    ),
  });
}

/** Read before Nest starts: the logger must exist before any module logs. */
export function loggingConfig(): LoggingConfig {
  return parseLoggingConfig(configSource());
}
