import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { AppName, ConfigValues, TaskerEnv } from '#config';
import { ConfigError, errorMessage } from '#core';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import {
  formatTable,
  type OutputFormat,
  outputOption,
  printJson,
  writeErr,
  writeOut,
} from '../output.js';

interface ConfigOptions {
  context: string;
  environment?: string;
}

/**
 * `config generate|validate|show`: the configuration an app runs with, from the same sources
 * (TASKER_CONFIG_PATH file, environment on top, defaults) and the same parsers as its boot.
 */
export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('generate, validate and show the configuration an app runs with');

  config
    .command('generate')
    .description(
      'write the merged configuration (file, environment, defaults) as a TASKER_CONFIG_PATH file',
    )
    .addOption(contextOption())
    .addOption(environmentOption())
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option(
      '--include-secrets',
      'also write DATABASE_URL, RABBITMQ_URL and TASKER_API_KEYS (default: left to the run-time environment)',
    )
    .action(async (options: ConfigOptions & { output?: string; includeSecrets?: boolean }) => {
      const { configVariables } = await import('#config');
      const { context, values } = await read(options);
      const variables = checked(() =>
        configVariables(context, values, { secretsAtRunTime: !options.includeSecrets }),
      );
      const written = variables.filter(
        (v) => v.value !== undefined && (options.includeSecrets || !v.secret),
      );
      const left = variables.filter((v) => v.secret && !written.includes(v)).map((v) => v.name);
      const env = variables.find((v) => v.name === 'TASKER_ENV')?.value ?? 'development';
      const header = [
        `# Tasker ${context} configuration for ${env}, written by tasker-ctl config generate.`,
        '# Point TASKER_CONFIG_PATH here; environment variables still override these values.',
        ...(left.length > 0
          ? [`# Secrets are left out; set them in the environment at run time: ${left.join(', ')}`]
          : []),
      ];
      const { stringify } = await import('yaml');
      const text = `${header.join('\n')}\n${stringify(
        Object.fromEntries(written.map((v) => [v.name, v.value])),
      )}`;
      if (!options.output) return writeOut(text);
      try {
        writeFileSync(options.output, text, { mode: options.includeSecrets ? 0o600 : 0o644 });
      } catch (err) {
        throw new CliError(ExitCode.Usage, `cannot write ${options.output}: ${errorMessage(err)}`);
      }
      writeErr(`wrote ${written.length} variables to ${options.output}`);
    });

  config
    .command('validate')
    .description(
      'check the configuration as the app does at boot; exit 1 naming every bad variable',
    )
    .addOption(contextOption())
    .addOption(environmentOption())
    .action(async (options: ConfigOptions) => {
      const { configVariables } = await import('#config');
      const { context, values } = await read(options);
      const variables = checked(() => configVariables(context, values));
      const env = variables.find((v) => v.name === 'TASKER_ENV')?.value ?? 'development';
      writeOut(`the ${context} configuration is valid (${env})`);
    });

  config
    .command('show')
    .description(
      'print the effective configuration, secrets redacted: by variable (table), or as the app prints it (json)',
    )
    .addOption(contextOption())
    .addOption(environmentOption())
    .addOption(outputOption())
    .action(async (options: ConfigOptions & { output: OutputFormat }) => {
      const { configVariables, effectiveConfig, redactedValue } = await import('#config');
      const { context, values } = await read(options);
      if (options.output === 'json') {
        return printJson(checked(() => effectiveConfig(context, values)));
      }
      const variables = checked(() => configVariables(context, values));
      writeOut(
        formatTable(
          ['variable', 'value', 'source'],
          variables.map((v) => [
            v.name,
            redactedValue(v) ?? '(unset)',
            v.defaulted ? 'default' : process.env[v.name] !== undefined ? 'env' : 'file',
          ]),
        ),
      );
    });
}

function contextOption(): Option {
  return new Option(
    '-c, --context <app>',
    'the app: orchestration or worker',
  ).makeOptionMandatory();
}

function environmentOption(): Option {
  return new Option(
    '-e, --environment <env>',
    'TASKER_ENV to assume: development, test or production (default: as set, else development)',
  );
}

/**
 * The app named by --context and the values it would read, with TASKER_ENV replaced by
 * --environment. The config library loads here, only for config commands.
 */
async function read(options: ConfigOptions): Promise<{ context: AppName; values: ConfigValues }> {
  const { APP_NAMES, TASKER_ENVS, loadConfigSource } = await import('#config');
  const context = oneOf('--context', options.context, APP_NAMES);
  const environment =
    options.environment === undefined
      ? undefined
      : oneOf<TaskerEnv>('--environment', options.environment, TASKER_ENVS);
  const values = checked(() => loadConfigSource(process.env));
  return { context, values: environment ? { ...values, TASKER_ENV: environment } : values };
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(
    ExitCode.Usage,
    `${option} must be one of ${allowed.join(', ')}, got ${value}`,
  );
}

/** Runs a config read; an invalid configuration ends the command (exit 1), every problem listed. */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CliError(ExitCode.Failed, err.message);
  }
}
