#!/usr/bin/env node
import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import {
  TaskerClientError,
  TaskerConnectionError,
  TaskerRequestError,
  TaskerServerError,
} from '#client';
import { ConfigError, errorMessage } from '#core';
import { CliError } from './cli.error.js';
import { registerConfigCommands } from './commands/config.command.js';
import { registerDevCommands } from './commands/dev.command.js';
import { registerDlqCommands } from './commands/dlq.command.js';
import { registerEventCommands } from './commands/event.command.js';
import { registerLimitsCommands } from './commands/limits.command.js';
import { registerMigrateCommands } from './commands/migrate.command.js';
import { registerScheduleCommands } from './commands/schedule.command.js';
import { registerStepCommands } from './commands/step.command.js';
import { registerTaskCommands } from './commands/task.command.js';
import { registerTemplateCommands } from './commands/template.command.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { writeErr } from './output.js';

/**
 * tasker-ctl: one module per command group under commands/, each registering its subcommands;
 * they share the API client (tasker/client; its errors map to exit codes here), the API options
 * (api-options.ts) and output formatting (output.ts). Results go to stdout, everything else to
 * stderr, and the exit code tells the class of failure (exit-codes.ts).
 */
function createProgram(): Command {
  const program = new Command('tasker-ctl')
    .description(
      'Operate Tasker: configuration, migrations, templates, tasks and their steps, the DLQ, schedules',
    )
    .version(packageVersion())
    // Program options only before the command, so `task create --version` is the template's.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);
  registerConfigCommands(program);
  registerMigrateCommands(program);
  registerTemplateCommands(program);
  registerTaskCommands(program);
  registerStepCommands(program);
  registerDlqCommands(program);
  registerScheduleCommands(program);
  registerEventCommands(program);
  registerLimitsCommands(program);
  registerDevCommands(program);
  return program;
}

/** Commander has already printed its own errors (usage, help); the rest are printed here. */
function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (err instanceof CliError) {
    writeErr(`error: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof TaskerClientError) {
    const { exitCode, hint } = clientFailure(err);
    writeErr(`error: ${err.message}${hint}`);
    return exitCode;
  }
  writeErr(`error: ${errorMessage(err)}`);
  // A configuration the command cannot use (DATABASE_URL for migrate, …) is the caller's to fix.
  return err instanceof ConfigError ? ExitCode.Usage : ExitCode.Failed;
}

/** A client error's exit code, and what to try on the command line. */
function clientFailure(err: TaskerClientError): { exitCode: ExitCode; hint: string } {
  if (err instanceof TaskerConnectionError) {
    return {
      exitCode: ExitCode.Connection,
      hint: ' (is orchestration running there? set --url or TASKER_URL)',
    };
  }
  if (err instanceof TaskerRequestError) {
    const hint = err.status === 401 ? ' (set --api-key or TASKER_API_KEY)' : '';
    return { exitCode: ExitCode.ClientError, hint };
  }
  if (err instanceof TaskerServerError) return { exitCode: ExitCode.ServerError, hint: '' };
  return { exitCode: ExitCode.Failed, hint: '' };
}

function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}

try {
  await createProgram().parseAsync(process.argv);
  process.exitCode = ExitCode.Ok;
} catch (err) {
  process.exitCode = exitCodeOf(err);
}
