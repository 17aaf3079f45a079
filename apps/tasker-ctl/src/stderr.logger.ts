import type { LoggerService } from '@nestjs/common';
import { writeErr } from './output.js';

/**
 * Nest's Logger for code tasker-ctl shares with the apps (the migrator): plain lines on stderr,
 * so stdout keeps only the command's result. Debug and verbose lines are dropped.
 */
export class StderrLogger implements LoggerService {
  log(message: unknown): void {
    writeErr(String(message));
  }

  warn(message: unknown): void {
    writeErr(`warning: ${String(message)}`);
  }

  error(message: unknown): void {
    writeErr(`error: ${String(message)}`);
  }
}
