import { type Command, Option } from 'commander';
import type { CreateScheduleRequest, UpdateScheduleRequest } from '#client';
import {
  SCHEDULE_KINDS,
  SCHEDULE_OVERLAP_POLICIES,
  type ScheduleKind,
  type ScheduleOverlap,
  type ScheduleView,
} from '#core';
import {
  apiClientFor,
  nonNegativeInteger,
  positiveInteger,
  withApiOptions,
} from '../api-options.js';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { readJsonObjectOption } from '../json-input.js';
import {
  formatFields,
  formatTable,
  oneLine,
  type OutputFormat,
  outputOption,
  printJson,
  writeErr,
  writeOut,
} from '../output.js';

/** The fields `schedule create` and `schedule update` share, as commander parses them. */
interface FieldOptions {
  namespace?: string;
  name?: string;
  version?: string;
  context?: string;
  kind?: ScheduleKind;
  expression?: string;
  timezone?: string;
  misfireGraceSeconds?: number;
  overlap?: ScheduleOverlap;
  description?: string;
}

/** The field options, by the body key each one sets, in the order help lists them. */
const FIELDS: readonly (readonly [keyof FieldOptions, string])[] = [
  ['namespace', '--namespace <namespace>'],
  ['name', '--name <name>'],
  ['version', '--version <version>'],
  ['context', '--context <json>'],
  ['kind', '--kind <kind>'],
  ['expression', '--expression <expression>'],
  ['timezone', '--timezone <zone>'],
  ['misfireGraceSeconds', '--misfire-grace-seconds <seconds>'],
  ['overlap', '--overlap <policy>'],
  ['description', '--description <text>'],
];

/** Required when creating; every field is optional when updating. */
const REQUIRED_ON_CREATE: ReadonlySet<keyof FieldOptions> = new Set([
  'namespace',
  'name',
  'kind',
  'expression',
  'timezone',
]);

const DESCRIPTIONS: Record<keyof FieldOptions, string> = {
  namespace: 'template namespace',
  name: 'template name',
  version: 'template version (default: the highest registered at each fire)',
  context: 'task context: JSON object, @file.json, or @- for stdin',
  kind: 'how expression reads',
  expression:
    "cron: 5 fields or a macro ('30 2 * * *', @daily); rrule: RFC 5545 with DTSTART; " +
    'once: an ISO 8601 time',
  timezone: 'IANA time zone the expression is read in (Europe/Berlin, UTC)',
  misfireGraceSeconds: 'a fire found up to this late still runs (API default 300)',
  overlap: "skip: no fire while the schedule's previous task still runs (API default allow)",
  description: 'free text shown with the schedule',
};

/**
 * `schedule create|list|get|update|pause|resume|snooze|run-now|runs|delete` over /v1/schedules:
 * tasks created from a template on a calendar.
 */
export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('create tasks on a calendar: create, inspect, pause, snooze, run now');

  const create = withApiOptions(schedule.command('create')).description(
    'create a schedule; the API checks the expression, zone, template and context',
  );
  addFieldOptions(create, 'create')
    .option('--disabled', 'create it paused (resume starts it)')
    .addOption(outputOption());
  create.action(
    async (
      options: FieldOptions & { disabled?: boolean; output: OutputFormat },
      command: Command,
    ) => {
      // Commander has made sure the fields a schedule needs are there.
      const created = await apiClientFor(command).schedules.create({
        ...(fieldBody({ context: '{}', ...options }) as CreateScheduleRequest),
        enabled: options.disabled ? false : undefined,
      });
      if (options.output === 'json') return printJson(created);
      writeOut(formatSchedule(created));
    },
  );

  withApiOptions(schedule.command('list'))
    .description('schedules, a page at a time, with their next fire')
    .option('--namespace <namespace>')
    .option('--name <name>')
    .addOption(
      new Option('--enabled <bool>', 'true: running ones; false: paused ones').choices([
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
        const page = await apiClientFor(command).schedules.list({
          namespace: options.namespace,
          name: options.name,
          enabled: options.enabled === undefined ? undefined : options.enabled === 'true',
          limit: options.limit,
          cursor: options.cursor,
        });
        if (options.output === 'json') return printJson(page);
        if (page.items.length === 0) writeErr('no schedules match');
        else {
          writeOut(
            formatTable(
              ['schedule', 'template', 'kind', 'expression', 'timezone', 'status', 'next fire'],
              page.items.map((s) => [
                s.scheduleUuid,
                templateLabel(s),
                s.kind,
                oneLine(s.expression, 40),
                s.timezone,
                s.enabled ? 'active' : 'paused',
                s.nextFireAt ?? '-',
              ]),
            ),
          );
        }
        if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
      },
    );

  withApiOptions(schedule.command('get'))
    .description('a schedule with its next five fires, in UTC and in its time zone')
    .argument('<scheduleUuid>')
    .addOption(outputOption())
    .action(async (scheduleUuid: string, options: { output: OutputFormat }, command: Command) => {
      const found = await apiClientFor(command).schedules.get(scheduleUuid);
      if (options.output === 'json') return printJson(found);
      writeOut(formatSchedule(found));
    });

  const update = withApiOptions(schedule.command('update'))
    .description('change any of the given fields (pause and resume change whether it runs)')
    .argument('<scheduleUuid>');
  addFieldOptions(update, 'update').addOption(outputOption());
  update.action(
    async (
      scheduleUuid: string,
      options: FieldOptions & { output: OutputFormat },
      command: Command,
    ) => {
      const body = fieldBody(options);
      if (Object.values(body).every((v) => v === undefined)) {
        throw new CliError(
          ExitCode.Usage,
          `nothing to change: give at least one of ${FIELDS.map(([, f]) => f.split(' ')[0]).join(', ')}`,
        );
      }
      const updated = await apiClientFor(command).schedules.update(scheduleUuid, body);
      if (options.output === 'json') return printJson(updated);
      writeOut(formatSchedule(updated));
    },
  );

  for (const [name, enabled, description] of [
    ['pause', false, 'stop firing; the schedule and its runs stay'],
    ['resume', true, 'fire again, from now on (fires missed while paused are not run)'],
  ] as const) {
    withApiOptions(schedule.command(name))
      .description(description)
      .argument('<scheduleUuid>')
      .addOption(outputOption())
      .action(async (scheduleUuid: string, options: { output: OutputFormat }, command: Command) => {
        const changed = await apiClientFor(command).schedules.update(scheduleUuid, { enabled });
        if (options.output === 'json') return printJson(changed);
        writeOut(formatSchedule(changed));
      });
  }

  withApiOptions(schedule.command('snooze'))
    .description('skip the next fire, or with --until every fire up to then')
    .argument('<scheduleUuid>')
    .option('--until <time>', 'an ISO 8601 instant, like 2026-12-24T00:00:00Z')
    .addOption(outputOption())
    .action(
      async (
        scheduleUuid: string,
        options: { until?: string; output: OutputFormat },
        command: Command,
      ) => {
        const snoozed = await apiClientFor(command).schedules.snooze(scheduleUuid, options.until);
        if (options.output === 'json') return printJson(snoozed);
        writeOut(formatSchedule(snoozed));
      },
    );

  withApiOptions(schedule.command('run-now'))
    .description("create the schedule's task now, whatever its timing, pause or overlap policy")
    .argument('<scheduleUuid>')
    .addOption(outputOption())
    .action(async (scheduleUuid: string, options: { output: OutputFormat }, command: Command) => {
      const run = await apiClientFor(command).schedules.runNow(scheduleUuid);
      if (options.output === 'json') return printJson(run);
      writeOut(`created task ${run.taskUuid} from schedule ${run.scheduleUuid}`);
    });

  withApiOptions(schedule.command('runs'))
    .description('every fire handled, newest first: the task created, or why none was')
    .argument('<scheduleUuid>')
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(
      async (
        scheduleUuid: string,
        options: { limit: number; cursor?: string; output: OutputFormat },
        command: Command,
      ) => {
        const page = await apiClientFor(command).schedules.runs(scheduleUuid, {
          limit: options.limit,
          cursor: options.cursor,
        });
        if (options.output === 'json') return printJson(page);
        if (page.items.length === 0) writeErr('no runs yet');
        else {
          writeOut(
            formatTable(
              ['fire at', 'trigger', 'outcome', 'task', 'task status', 'detail'],
              page.items.map((r) => [
                r.fireAt,
                r.trigger,
                r.outcome,
                r.taskUuid ?? '-',
                r.taskStatus ?? '-',
                r.detail ?? '',
              ]),
            ),
          );
        }
        if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
      },
    );

  withApiOptions(schedule.command('delete'))
    .description('delete a schedule (the tasks it created stay)')
    .argument('<scheduleUuid>')
    .action(async (scheduleUuid: string, _options: unknown, command: Command) => {
      await apiClientFor(command).schedules.delete(scheduleUuid);
      writeOut(`deleted schedule ${scheduleUuid}`);
    });
}

function addFieldOptions(command: Command, mode: 'create' | 'update'): Command {
  for (const [key, flags] of FIELDS) {
    const option = new Option(flags, DESCRIPTIONS[key]);
    if (key === 'kind') option.choices(SCHEDULE_KINDS);
    if (key === 'overlap') option.choices(SCHEDULE_OVERLAP_POLICIES);
    if (key === 'misfireGraceSeconds') option.argParser(nonNegativeInteger);
    if (mode === 'create' && REQUIRED_ON_CREATE.has(key)) option.makeOptionMandatory();
    if (mode === 'create' && key === 'context') option.default('{}');
    command.addOption(option);
  }
  return command;
}

/** The request body for the fields given; undefined ones are left out of the JSON. */
function fieldBody(options: FieldOptions): UpdateScheduleRequest {
  return {
    namespace: options.namespace,
    name: options.name,
    version: options.version,
    context:
      options.context === undefined
        ? undefined
        : readJsonObjectOption('--context', options.context),
    kind: options.kind,
    expression: options.expression,
    timezone: options.timezone,
    misfireGraceSeconds: options.misfireGraceSeconds,
    overlap: options.overlap,
    description: options.description,
  };
}

function templateLabel(s: ScheduleView): string {
  return `${s.namespace}/${s.name}@${s.version ?? 'latest'}`;
}

/** An instant as the schedule's zone shows it, with the offset (fall-back hours happen twice). */
function localTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'shortOffset',
  }).format(new Date(iso));
}

/** `schedule get` as a table: the schedule's fields, then its next fires. */
function formatSchedule(s: ScheduleView): string {
  const fields: [string, string][] = [
    ['Schedule', s.scheduleUuid],
    ['Template', templateLabel(s)],
    ['Kind', s.kind],
    ['Expression', s.expression.replaceAll('\n', ' ')],
    ['Timezone', s.timezone],
    ['Status', s.enabled ? 'active' : 'paused'],
    ['Overlap', s.overlap],
    ['Misfire grace', `${s.misfireGraceSeconds} s`],
    ['Context', oneLine(s.context, 100)],
  ];
  if (s.description) fields.push(['Description', s.description]);
  if (s.snoozedUntil) fields.push(['Snoozed until', s.snoozedUntil]);
  fields.push(
    ['Last fire', s.lastFireAt ?? '-'],
    ['Last task', s.lastTaskUuid ?? '-'],
    ['Created', s.createdAt],
  );
  const upcoming =
    s.upcomingFires.length === 0
      ? `No upcoming fires${s.enabled ? '' : ' (paused)'}`
      : formatTable(
          ['upcoming fire', 'local time'],
          s.upcomingFires.map((fire) => [fire, localTime(fire, s.timezone)]),
        );
  return `${formatFields(fields)}\n\n${upcoming}`;
}
