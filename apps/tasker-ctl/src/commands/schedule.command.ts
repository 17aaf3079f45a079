import { type Command, Option } from 'commander';
import {
  SCHEDULE_KINDS,
  SCHEDULE_OVERLAP_POLICIES,
  type ScheduleRunPage,
  type SchedulePage,
  type ScheduleView,
} from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
import { parseJsonObject } from '../json-input.js';
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

const schedulePath = (id: string, tail = '') => `/v1/schedules/${encodeURIComponent(id)}${tail}`;

interface FieldOptions {
  namespace?: string;
  name?: string;
  version?: string;
  context?: string;
  kind?: string;
  expression?: string;
  timezone?: string;
  misfireGraceSeconds?: number;
  overlap?: string;
  description?: string;
  output: OutputFormat;
}

/** The options create and update share; on create the timing ones are required. */
function withFieldOptions(command: Command, create: boolean): Command {
  const option = (flags: string, description: string, required: boolean) =>
    required ? command.requiredOption(flags, description) : command.option(flags, description);
  option('--namespace <namespace>', 'template namespace', create);
  option('--name <name>', 'template name', create);
  command.option('--version <version>', 'template version (default: the highest at each fire)');
  command.option('--context <json>', 'JSON object, @file.json, or @- for stdin');
  command.addOption(
    new Option('--kind <kind>', 'cron, rrule or once')
      .choices(SCHEDULE_KINDS)
      .makeOptionMandatory(create),
  );
  option(
    '--expression <expr>',
    "cron: '30 2 * * *'; rrule: 'DTSTART;TZID=…:20260101T090000\\nRRULE:…'; once: an ISO instant",
    create,
  );
  option('--timezone <zone>', 'IANA time zone of the expression, e.g. Europe/Berlin', create);
  command.option(
    '--misfire-grace-seconds <n>',
    'a fire found this late still runs (default 300)',
    positiveInteger,
  );
  command.addOption(
    new Option(
      '--overlap <policy>',
      'skip a fire while the last task runs (skip) or not (allow)',
    ).choices(SCHEDULE_OVERLAP_POLICIES),
  );
  command.option('--description <text>');
  return command;
}

function fieldsBody(options: FieldOptions): Record<string, unknown> {
  return {
    namespace: options.namespace,
    name: options.name,
    version: options.version,
    context:
      options.context === undefined ? undefined : parseJsonObject('--context', options.context),
    kind: options.kind,
    // A shell gives "\n" literally: RRULE's two lines may be written on one.
    expression: options.expression?.replaceAll('\\n', '\n'),
    timezone: options.timezone,
    misfireGraceSeconds: options.misfireGraceSeconds,
    overlap: options.overlap,
    description: options.description,
  };
}

/** `schedule create|list|get|update|pause|resume|snooze|run-now|runs|delete`. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('run tasks on a calendar: cron, RRULE or once, in a time zone');

  const show = (view: ScheduleView, output: OutputFormat) =>
    output === 'json' ? printJson(view) : writeOut(formatSchedule(view));

  withFieldOptions(withApiOptions(schedule.command('create')), true)
    .description('create a schedule; prints it with its next five fires')
    .option('--disabled', 'create it paused')
    .addOption(outputOption())
    .action(async (options: FieldOptions & { disabled?: boolean }, command: Command) => {
      const body = { ...fieldsBody(options), context: fieldsBody(options).context ?? {} };
      const created = await apiClientFor(command).post<ScheduleView>('/v1/schedules', {
        ...body,
        enabled: options.disabled ? false : undefined,
      });
      show(created, options.output);
    });

  withFieldOptions(withApiOptions(schedule.command('update')), false)
    .description('change any of its fields (a new timing recomputes the next fire)')
    .argument('<scheduleUuid>')
    .addOption(outputOption())
    .action(async (id: string, options: FieldOptions, command: Command) => {
      show(
        await apiClientFor(command).patch<ScheduleView>(schedulePath(id), fieldsBody(options)),
        options.output,
      );
    });

  withApiOptions(schedule.command('list'))
    .description('schedules, newest first, a page at a time')
    .option('--namespace <namespace>')
    .option('--name <name>')
    .addOption(
      new Option('--enabled <bool>', 'only enabled (true) or paused (false)').choices([
        'true',
        'false',
      ]),
    )
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(
      async (
        options: {
          namespace?: string;
          name?: string;
          enabled?: string;
          limit: number;
          cursor?: string;
          output: OutputFormat;
        },
        command: Command,
      ) => {
        const page = await apiClientFor(command).get<SchedulePage>('/v1/schedules', {
          namespace: options.namespace,
          name: options.name,
          enabled: options.enabled,
          limit: options.limit,
          cursor: options.cursor,
        });
        if (options.output === 'json') return printJson(page);
        writeOut(
          formatTable(
            ['schedule', 'template', 'kind', 'expression', 'zone', 'enabled', 'next fire'],
            page.items.map((s) => [
              s.scheduleUuid,
              `${s.namespace}/${s.name}${s.version ? `@${s.version}` : ''}`,
              s.kind,
              oneLine(s.expression, 40),
              s.timezone,
              s.enabled ? 'yes' : 'paused',
              s.nextFireAt ?? '-',
            ]),
          ),
        );
        if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
      },
    );

  withApiOptions(schedule.command('get'))
    .description('one schedule with its next five fires')
    .argument('<scheduleUuid>')
    .addOption(outputOption())
    .action(async (id: string, options: { output: OutputFormat }, command: Command) => {
      show(await apiClientFor(command).get<ScheduleView>(schedulePath(id)), options.output);
    });

  for (const [name, enabled, description] of [
    ['pause', false, 'stop firing (the schedule is kept)'],
    ['resume', true, 'fire again, from now on (missed fires are not run)'],
  ] as const) {
    withApiOptions(schedule.command(name))
      .description(description)
      .argument('<scheduleUuid>')
      .addOption(outputOption())
      .action(async (id: string, options: { output: OutputFormat }, command: Command) => {
        show(
          await apiClientFor(command).patch<ScheduleView>(schedulePath(id), { enabled }),
          options.output,
        );
      });
  }

  withApiOptions(schedule.command('snooze'))
    .description('skip the next fire, or every fire up to --until')
    .argument('<scheduleUuid>')
    .option('--until <instant>', 'ISO 8601 instant, e.g. 2026-12-27T00:00:00Z')
    .addOption(outputOption())
    .action(
      async (id: string, options: { until?: string; output: OutputFormat }, command: Command) => {
        show(
          await apiClientFor(command).post<ScheduleView>(schedulePath(id, '/snooze'), {
            until: options.until,
          }),
          options.output,
        );
      },
    );

  withApiOptions(schedule.command('run-now'))
    .description("create the schedule's task now, whatever its timing, pause or overlap policy")
    .argument('<scheduleUuid>')
    .addOption(outputOption())
    .action(async (id: string, options: { output: OutputFormat }, command: Command) => {
      const run = await apiClientFor(command).post<{ scheduleUuid: string; taskUuid: string }>(
        schedulePath(id, '/run-now'),
        {},
      );
      if (options.output === 'json') return printJson(run);
      writeOut(`created task ${run.taskUuid} (tasker-ctl task get ${run.taskUuid})`);
    });

  withApiOptions(schedule.command('runs'))
    .description(
      'every fire handled: created (with its task), misfired, coalesced, skipped, failed',
    )
    .argument('<scheduleUuid>')
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(
      async (
        id: string,
        options: { limit: number; cursor?: string; output: OutputFormat },
        command: Command,
      ) => {
        const page = await apiClientFor(command).get<ScheduleRunPage>(schedulePath(id, '/runs'), {
          limit: options.limit,
          cursor: options.cursor,
        });
        if (options.output === 'json') return printJson(page);
        writeOut(
          formatTable(
            ['fire', 'trigger', 'outcome', 'task', 'task status', 'detail'],
            page.items.map((r) => [
              r.fireAt,
              r.trigger,
              r.outcome,
              r.taskUuid ?? '-',
              r.taskStatus ?? '-',
              oneLine(r.detail, 60),
            ]),
          ),
        );
        if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
      },
    );

  withApiOptions(schedule.command('delete'))
    .description('delete a schedule (the tasks it created stay)')
    .argument('<scheduleUuid>')
    .action(async (id: string, _options: unknown, command: Command) => {
      await apiClientFor(command).delete<undefined>(schedulePath(id));
      writeErr(`deleted schedule ${id}`);
    });
}

function formatSchedule(s: ScheduleView): string {
  return formatFields([
    ['Schedule', s.scheduleUuid],
    ['Template', `${s.namespace}/${s.name}@${s.version ?? '(latest)'}`],
    ['Context', oneLine(s.context, 100)],
    ['Kind', s.kind],
    ['Expression', s.expression.replaceAll('\n', ' | ')],
    ['Time zone', s.timezone],
    ['Enabled', s.enabled ? 'yes' : 'no (paused)'],
    ['Overlap', s.overlap],
    ['Misfire grace', `${s.misfireGraceSeconds} s`],
    ['Snoozed until', s.snoozedUntil ?? '-'],
    ['Last fire', s.lastFireAt ? `${s.lastFireAt} (task ${s.lastTaskUuid ?? '-'})` : '-'],
    ['Next fires', s.upcomingFires.length > 0 ? s.upcomingFires.join('\n               ') : '-'],
  ]);
}
