import { Logger as NestLogger, type LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LoggingConfig } from '#config';
import { currentLogContext } from '#core';

/** Fields that identify this process on every line (set once the process knows them). */
const processFields: Record<string, string> = {};

export function setProcessLogFields(fields: Record<string, string>): void {
  Object.assign(processFields, fields);
}

/**
 * The process's pino logger: JSON lines (or pretty ones for a developer), each carrying the
 * app, this process's id and the current log context (task, step, correlation, trace) read
 * from AsyncLocalStorage, so call sites never build those into strings.
 */
export function createPinoLogger(
  config: LoggingConfig,
  app: string,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.level,
    base: { app },
    mixin: () => ({ ...processFields, ...currentLogContext() }),
    // Secrets travel in URLs and headers; keep such fields out of every line.
    redact: ['url', 'databaseUrl', 'headers.authorization', 'headers["x-api-key"]'],
  };
  if (destination) return pino(options, destination);
  if (config.format === 'pretty') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

/** Nest's LoggerService over pino: Nest's and our `new Logger(context)` lines go to pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    // Nest passes (message, stack?, context?).
    const context = params.length > 0 ? params[params.length - 1] : undefined;
    const stack = params.length > 1 ? params[0] : undefined;
    this.logger.error(
      { context, ...(typeof stack === 'string' ? { stack } : {}) },
      toText(message),
    );
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(
    level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    params: unknown[],
  ) {
    const context = params.length > 0 ? params[params.length - 1] : undefined;
    this.logger[level]({ context }, toText(message));
  }
}

function toText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  return JSON.stringify(message);
}

/**
 * For `main.ts`: the process logger from TASKER_LOG_LEVEL / TASKER_LOG_FORMAT, installed as
 * Nest's logger before anything (migrations included) logs. Returned for NestFactory.
 */
export function installProcessLogger(config: LoggingConfig, app: string): PinoNestLogger {
  const logger = new PinoNestLogger(createPinoLogger(config, app));
  NestLogger.overrideLogger(logger);
  return logger;
}
