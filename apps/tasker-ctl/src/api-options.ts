import { type Command, InvalidArgumentError, Option } from 'commander';
import { TaskerClient } from '#client';
import { CliError } from './cli.error.js';
import { ExitCode } from './exit-codes.js';

const API_OPTIONS = 'API options:';

interface ApiOptions {
  url: string;
  apiKey?: string;
  requestTimeout: number;
}

/**
 * Options of every command that calls the API: where it is, how to authenticate, how long to
 * wait. On the commands themselves, not the program, so they can follow the command
 * (`task list --url …`) without the program's own --version taking `task create --version`.
 */
export function withApiOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'orchestration API base URL')
        .env('TASKER_URL')
        .default('http://127.0.0.1:8080')
        .helpGroup(API_OPTIONS),
    )
    .addOption(
      new Option(
        '--api-key <key>',
        'sent as X-API-Key (prefer the variable: argv is visible to ps)',
      )
        .env('TASKER_API_KEY')
        .helpGroup(API_OPTIONS),
    )
    .addOption(
      new Option('--request-timeout <seconds>', 'give up on one API request after this long')
        .argParser(positiveInteger)
        .default(30)
        .helpGroup(API_OPTIONS),
    );
}

/** The API client for a command given {@link withApiOptions}. */
export function apiClientFor(command: Command): TaskerClient {
  const options = command.opts<ApiOptions>();
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new CliError(ExitCode.Usage, `--url ${options.url} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(ExitCode.Usage, `--url must be http:// or https://, got ${url.protocol}`);
  }
  return new TaskerClient({
    baseUrl: options.url,
    apiKey: options.apiKey,
    timeoutMs: options.requestTimeout * 1000,
  });
}

/** Commander parser for counts and durations given on the command line. */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('must be a positive integer');
  }
  return parsed;
}

/** Commander parser for counts and durations where zero is meaningful (a grace of none). */
export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new InvalidArgumentError('must be an integer of 0 or more');
  }
  return parsed;
}
