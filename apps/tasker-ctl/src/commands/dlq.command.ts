import { type Command, Option } from 'commander';
import {
  DLQ_REASONS,
  DLQ_RESOLUTION_STATUSES,
  type DlqEntryDetailView,
  type DlqPage,
  type DlqStats,
} from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
import {
  formatFields,
  formatTable,
  type OutputFormat,
  oneLine,
  outputOption,
  printJson,
  writeErr,
  writeOut,
} from '../output.js';

const entryPath = (entryUuid: string) => `/v1/dlq/${encodeURIComponent(entryUuid)}`;

interface ListOptions {
  status?: string;
  reason?: string;
  namespace?: string;
  limit: number;
  cursor?: string;
  output: OutputFormat;
}

/** `dlq list|get|resolve|stats` over /v1/dlq: tasks staleness detection gave up on. */
export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('tasks found stuck and moved to error: list, inspect, record a resolution');

  withApiOptions(dlq.command('list'))
    .description('entries, newest first, a page at a time')
    .addOption(new Option('--status <status>').choices(DLQ_RESOLUTION_STATUSES))
    .addOption(new Option('--reason <reason>').choices(DLQ_REASONS))
    .option('--namespace <namespace>')
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(async (options: ListOptions, command: Command) => {
      const page = await apiClientFor(command).get<DlqPage>('/v1/dlq', {
        status: options.status,
        reason: options.reason,
        namespace: options.namespace,
        limit: options.limit,
        cursor: options.cursor,
      });
      if (options.output === 'json') return printJson(page);
      writeOut(
        formatTable(
          ['entry', 'task', 'template', 'reason', 'stuck', 'task now', 'resolution'],
          page.items.map((e) => [
            e.dlqEntryUuid,
            e.taskUuid,
            `${e.namespace}/${e.name}`,
            e.reason,
            `${Math.round(e.stuckForSeconds / 60)} min`,
            e.taskStatus,
            e.resolutionStatus,
          ]),
        ),
      );
      if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
    });

  withApiOptions(dlq.command('get'))
    .description('one entry, with the snapshot of the task and its steps when it was found stuck')
    .argument('<entryUuid>')
    .addOption(outputOption())
    .action(async (entryUuid: string, options: { output: OutputFormat }, command: Command) => {
      const entry = await apiClientFor(command).get<DlqEntryDetailView>(entryPath(entryUuid));
      if (options.output === 'json') return printJson(entry);
      writeOut(formatEntry(entry));
    });

  withApiOptions(dlq.command('resolve'))
    .description("record what was decided (move the task itself with 'tasker-ctl step …')")
    .argument('<entryUuid>')
    .addOption(
      new Option('--status <status>', 'the resolution')
        .choices(DLQ_RESOLUTION_STATUSES)
        .makeOptionMandatory(),
    )
    .option('--notes <text>', 'what was done and why')
    .addOption(new Option('--by <name>', 'who resolved it').env('TASKER_OPERATOR'))
    .addOption(outputOption())
    .action(
      async (
        entryUuid: string,
        options: { status: string; notes?: string; by?: string; output: OutputFormat },
        command: Command,
      ) => {
        const entry = await apiClientFor(command).patch<DlqEntryDetailView>(entryPath(entryUuid), {
          resolutionStatus: options.status,
          resolutionNotes: options.notes,
          resolvedBy: options.by,
        });
        if (options.output === 'json') return printJson(entry);
        writeOut(formatEntry(entry));
      },
    );

  withApiOptions(dlq.command('stats'))
    .description('counts by resolution status and reason, age of the oldest pending entry')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const stats = await apiClientFor(command).get<DlqStats>('/v1/dlq/stats');
      if (options.output === 'json') return printJson(stats);
      const counts = (record: Record<string, number | undefined>) =>
        Object.entries(record)
          .map(([key, n]) => `${key} ${n ?? 0}`)
          .join(', ') || '-';
      writeOut(
        formatFields([
          ['Entries', String(stats.total)],
          ['By status', counts(stats.byStatus)],
          ['By reason', counts(stats.byReason)],
          [
            'Oldest pending',
            stats.oldestPendingSeconds === null ? '-' : `${stats.oldestPendingSeconds} s`,
          ],
        ]),
      );
    });
}

function formatEntry(entry: DlqEntryDetailView): string {
  const fields = formatFields([
    ['Entry', entry.dlqEntryUuid],
    ['Task', `${entry.taskUuid} (${entry.namespace}/${entry.name}, now ${entry.taskStatus})`],
    ['Reason', `${entry.reason}: ${entry.originalState} for ${entry.stuckForSeconds} s`],
    ['Threshold', `${entry.thresholdMinutes} min`],
    ['Resolution', entry.resolutionStatus],
    ['Notes', entry.resolutionNotes ?? '-'],
    ['Resolved', entry.resolvedAt ? `${entry.resolvedAt} by ${entry.resolvedBy ?? '?'}` : '-'],
    ['Found', entry.createdAt],
  ]);
  const steps = (entry.snapshot.steps ?? []) as {
    name: string;
    state: string;
    attempts: number;
    lastError: unknown;
  }[];
  const table = formatTable(
    ['step (at the time)', 'state', 'attempts', 'last error'],
    steps.map((s) => [s.name, s.state, String(s.attempts), oneLine(s.lastError)]),
  );
  return `${fields}\n\n${table}`;
}
