import { type Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '#core';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { writeErr, writeOut } from '../output.js';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) {
    throw new InvalidArgumentError('must be a port number from 1 to 65535');
  }
  return parsed;
}

/**
 * `dev`: orchestration (API, OpenAPI, dashboard) and a worker with the example handlers, on
 * DATABASE_URL or else an embedded PostgreSQL server in `.tasker/pgdata`, until Ctrl-C or
 * SIGTERM; then the apps drain and stop, then the database.
 */
export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description(
      'run orchestration, a worker with the example handlers and the dashboard, on DATABASE_URL or an embedded PostgreSQL server (.tasker/pgdata)',
    )
    .option('--reset', "wipe the embedded server's cluster first")
    .option('--port <port>', 'orchestration port (API, /docs, /ui)', port, 8080)
    .option('--worker-port <port>', "the worker's port (health, metrics)", port, 8081)
    .action(async (options: { reset?: boolean; port: number; workerPort: number }) => {
      await import('reflect-metadata');
      const { loadConfigSource } = await import('#config');
      const { DevStackUsageError, startDevStack } = await import('../dev/dev-stack.js');
      // Apps' lines go to stdout as they come; the stack's own lines to stderr.
      const stack = await startDevStack({
        values: loadConfigSource(process.env),
        cwd: process.cwd(),
        reset: options.reset ?? false,
        orchestrationPort: options.port,
        workerPort: options.workerPort,
        say: writeErr,
        onAppLine: (app, line) => writeOut(`[${app}] ${line}`),
      }).catch((err: unknown) => {
        if (err instanceof DevStackUsageError || err instanceof ConfigError) {
          throw new CliError(ExitCode.Usage, err.message);
        }
        throw err;
      });
      const api = stack.orchestration.url;
      writeErr(
        [
          `orchestration: ${api} (API /v1, OpenAPI ${api}/docs)`,
          `dashboard: ${api}/ui/`,
          `worker: ${stack.worker.url} (health, metrics)`,
          'Ctrl-C stops the apps, then the database',
        ].join('\n'),
      );
      const signalled = new Promise<string>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, resolve);
      });
      const ended = await Promise.race([
        signalled.then((signal) => ({ signal })),
        stack.lost.then((reason) => ({ reason })),
      ]);
      writeErr('stopping');
      await stack.stop();
      if ('reason' in ended) throw new CliError(ExitCode.Failed, ended.reason);
      writeErr('stopped');
    });
}
