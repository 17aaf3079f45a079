import type { Command } from 'commander';
import type { ConcurrencyKey } from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
import {
  formatDuration,
  formatTable,
  type OutputFormat,
  outputOption,
  printJson,
  writeOut,
} from '../output.js';

interface LimitsOptions {
  limit?: string;
  max: number;
  output: OutputFormat;
}

/**
 * `limits` over GET /v1/concurrency: the keys of the concurrency and rate limits with slots
 * held or steps waiting, busiest first.
 */
export function registerLimitsCommands(program: Command): void {
  withApiOptions(program.command('limits'))
    .description('concurrency and rate limit keys with slots held or steps waiting, busiest first')
    .option('--limit <name>', 'only this limit')
    .option('--max <n>', 'at most this many keys (1 to 1000)', positiveInteger, 100)
    .addOption(outputOption())
    .action(async (options: LimitsOptions, command: Command) => {
      const { items } = await apiClientFor(command).stats.concurrency({
        limit: options.limit,
        max: options.max,
      });
      if (options.output === 'json') return printJson(items);
      if (items.length === 0) return writeOut('No limit has a slot held or a step waiting.');
      const now = Date.now();
      writeOut(
        formatTable(
          ['limit', 'key', 'running', 'waiting', 'oldest wait', 'rate', 'next start', 'strategy'],
          items.map((k) => [
            k.limit,
            k.key,
            k.maxRunning === null ? String(k.running) : `${k.running}/${k.maxRunning}`,
            String(k.waiting),
            k.oldestWaitingSince === null
              ? '-'
              : formatDuration((now - Date.parse(k.oldestWaitingSince)) / 1000),
            rateOf(k),
            k.nextStartAt === null
              ? '-'
              : `in ${formatDuration(Math.max(0, Date.parse(k.nextStartAt) - now) / 1000)}`,
            k.strategy,
          ]),
        ),
      );
    });
}

function rateOf(key: ConcurrencyKey): string {
  if (key.rateLimit === null || key.ratePeriodMs === null) return '-';
  const period =
    key.ratePeriodMs % 1000 === 0
      ? formatDuration(key.ratePeriodMs / 1000)
      : `${key.ratePeriodMs}ms`;
  return `${key.rateLimit} per ${period}`;
}
