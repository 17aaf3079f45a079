import type { ExitCode } from './exit-codes.js';

/** An error tasker-ctl reports as `error: <message>` on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
