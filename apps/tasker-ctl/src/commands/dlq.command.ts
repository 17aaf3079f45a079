import { type Command, Option } from 'commander';
import {
  DLQ_REASONS,
  DLQ_RESOLUTION_STATUSES,
  type DlqEntryDetailView,
  type DlqReason,
  type DlqResolutionStatus,
} from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
import { operatorOption } from '../operator-option.js';
import {
  formatDuration,
  formatFields,
  formatTable,
  oneLine,
  type OutputFormat,
  outputOption,
  printJson,
  writeErr,
  writeOut,
} from '../output.js';

/** What staleness detection records in an entry's snapshot (record-dlq-entry.ts). */
interface DlqSnapshot {
  task?: { context?: unknown; correlationId?: string; requestedAt?: string };
  steps?: {
    name: string;
    state: string;
    since: string;
    attempts: number;
    maxAttempts: number;
    lastError: { message?: unknown } | null;
  }[];
}

interface ListOptions {
  status?: DlqResolutionStatus;
  reason?: DlqReason;
  namespace?: string;
  limit: number;
  cursor?: string;
  output: OutputFormat;
}

interface ResolveOptions {
  status: DlqResolutionStatus;
  notes?: string;
  by: string;
  output: OutputFormat;
}

/**
 * `dlq list|get|resolve|stats` over /v1/dlq: tasks staleness detection moved to error. Resolving
 * an entry records a decision; the task itself moves with `step reset|resolve|complete`.
 */
export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('tasks found stuck and moved to error: list, inspect, record a resolution');

  withApiOptions(dlq.command('list'))
    .description('DLQ entries, newest first, a page at a time')
    .addOption(
      new Option('--status <status>', 'resolution status').choices(DLQ_RESOLUTION_STATUSES),
    )
    .addOption(new Option('--reason <reason>').choices(DLQ_REASONS))
    .option('--namespace <namespace>')
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(async (options: ListOptions, command: Command) => {
      const page = await apiClientFor(command).dlq.list({
        status: options.status,
        reason: options.reason,
        namespace: options.namespace,
        limit: options.limit,
        cursor: options.cursor,
      });
      if (options.output === 'json') return printJson(page);
      if (page.items.length === 0) writeErr('no DLQ entries match');
      else {
        writeOut(
          formatTable(
            ['entry', 'task', 'template', 'reason', 'stuck', 'task now', 'resolution', 'created'],
            page.items.map((e) => [
              e.dlqEntryUuid,
              e.taskUuid,
              `${e.namespace}/${e.name}`,
              e.reason,
              formatDuration(e.stuckForSeconds),
              e.taskStatus,
              e.resolutionStatus,
              e.createdAt,
            ]),
          ),
        );
      }
      if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
    });

  withApiOptions(dlq.command('get'))
    .description('one entry, with the task and its steps as they were when it was made')
    .argument('<entryUuid>')
    .addOption(outputOption())
    .action(async (entryUuid: string, options: { output: OutputFormat }, command: Command) => {
      const entry = await apiClientFor(command).dlq.get(entryUuid);
      if (options.output === 'json') return printJson(entry);
      writeOut(formatEntry(entry));
    });

  withApiOptions(dlq.command('resolve'))
    .description("record what was decided about an entry (the task moves with 'step' commands)")
    .argument('<entryUuid>')
    .addOption(
      new Option('--status <status>', 'the resolution; pending reopens the entry')
        .choices(DLQ_RESOLUTION_STATUSES)
        .makeOptionMandatory(),
    )
    .option('--notes <text>', 'what was done and why')
    .addOption(operatorOption('--by <name>', 'who resolved it'))
    .addOption(outputOption())
    .action(async (entryUuid: string, options: ResolveOptions, command: Command) => {
      const entry = await apiClientFor(command).dlq.resolve(entryUuid, {
        resolutionStatus: options.status,
        resolutionNotes: options.notes,
        resolvedBy: options.by,
      });
      if (options.output === 'json') return printJson(entry);
      writeOut(formatEntry(entry));
    });

  withApiOptions(dlq.command('stats'))
    .description('entries by resolution status and reason, and the age of the oldest pending one')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const stats = await apiClientFor(command).dlq.stats();
      if (options.output === 'json') return printJson(stats);
      const counts = (label: string, keys: readonly string[], by: Record<string, number>) =>
        formatTable(
          [label, 'entries'],
          keys.map((key) => [key, String(by[key] ?? 0)]),
        );
      writeOut(
        [
          formatFields([
            ['Entries', String(stats.total)],
            [
              'Oldest pending',
              stats.oldestPendingSeconds === null
                ? '-'
                : formatDuration(stats.oldestPendingSeconds),
            ],
          ]),
          counts('status', DLQ_RESOLUTION_STATUSES, stats.byStatus),
          counts('reason', DLQ_REASONS, stats.byReason),
        ].join('\n\n'),
      );
    });
}

/** An entry as a table: its fields, then the snapshot's steps. */
function formatEntry(entry: DlqEntryDetailView): string {
  const snapshot = entry.snapshot as DlqSnapshot;
  const fields: [string, string][] = [
    ['Entry', entry.dlqEntryUuid],
    ['Task', entry.taskUuid],
    ['Template', `${entry.namespace}/${entry.name}`],
    ['Reason', entry.reason],
    [
      'Stuck',
      `${formatDuration(entry.stuckForSeconds)} in ${entry.originalState} ` +
        `(threshold ${entry.thresholdMinutes} min)`,
    ],
    ['Task now', entry.taskStatus],
    ['Resolution', entry.resolutionStatus],
  ];
  if (entry.resolutionNotes) fields.push(['Notes', entry.resolutionNotes]);
  if (entry.resolvedBy) fields.push(['Resolved by', entry.resolvedBy]);
  if (entry.resolvedAt) fields.push(['Resolved at', entry.resolvedAt]);
  fields.push(['Created', entry.createdAt]);
  if (snapshot.task?.context !== undefined) {
    fields.push(['Context', oneLine(snapshot.task.context, 100)]);
  }
  const steps = formatTable(
    ['step', 'state', 'since', 'attempts', 'last error'],
    (snapshot.steps ?? []).map((s) => [
      s.name,
      s.state,
      s.since,
      `${s.attempts}/${s.maxAttempts}`,
      s.lastError ? oneLine(s.lastError.message ?? s.lastError) : '-',
    ]),
  );
  return `${formatFields(fields)}\n\nSteps when the entry was made:\n${steps}`;
}
