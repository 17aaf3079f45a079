import { type Command, InvalidArgumentError, Option } from 'commander';
import { TASK_STATES, type TaskState } from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { readJsonObjectOption } from '../json-input.js';
import {
  formatFields,
  formatTable,
  type OutputFormat,
  outputOption,
  printJson,
  writeErr,
  writeOut,
} from '../output.js';
import { formatSteps, formatTask } from './task-view.js';
import { waitForTask } from './task-wait.js';

interface CreateOptions {
  namespace: string;
  name: string;
  version?: string;
  context: string;
  idempotencyKey?: string;
  priority?: number;
  correlationId?: string;
  initiator?: string;
  sourceSystem?: string;
  reason?: string;
  tag?: string[];
  wait?: boolean;
  timeout?: number;
  output: OutputFormat;
}

/** Terminal states a waiting script may treat as success. */
const SUCCESS_STATES: readonly string[] = ['complete', 'resolved_manually'];

/** `task create|get|list|cancel|steps` over /v1/tasks. */
export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('submit, follow, list and cancel tasks');

  withApiOptions(task.command('create'))
    .description('submit a task; with --wait, follow it until it ends and exit by its outcome')
    .requiredOption('--namespace <namespace>', 'template namespace')
    .requiredOption('--name <name>', 'template name')
    .option('--version <version>', 'template version (default: the highest registered)')
    .option('--context <json>', 'JSON object, @file.json, or @- for stdin', '{}')
    .option('--idempotency-key <key>', 'the same key gives the same task (a second submit is 409)')
    .option(
      '--priority <n>',
      'from -100 to 100: orders steps waiting for a slot of a limit',
      integer,
    )
    .option('--correlation-id <id>', 'carried by every message of the task')
    .option('--initiator <who>', 'recorded on the task')
    .option('--source-system <name>', 'recorded on the task')
    .option('--reason <text>', 'recorded on the task')
    .option('--tag <tag...>', 'tags (repeatable)')
    .option('--wait', 'show progress until the task ends; exit 0 only if it completed')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 6)', positiveInteger)
    .addOption(outputOption())
    .action(async (options: CreateOptions, command: Command) => {
      const api = apiClientFor(command);
      const submitted = await api.tasks.create({
        namespace: options.namespace,
        name: options.name,
        version: options.version,
        context: readJsonObjectOption('--context', options.context),
        idempotencyKey: options.idempotencyKey,
        priority: options.priority,
        correlationId: options.correlationId,
        initiator: options.initiator,
        sourceSystem: options.sourceSystem,
        reason: options.reason,
        tags: options.tag,
      });
      const label = `${submitted.namespace}/${submitted.name}@${submitted.version}`;
      if (!options.wait) {
        if (options.output === 'json') return printJson(submitted);
        return writeOut(
          `created task ${submitted.taskUuid} (${label}, ${submitted.stepCount} steps)`,
        );
      }
      writeErr(`created task ${submitted.taskUuid} (${label}); waiting for it to end`);
      const timeoutMs = options.timeout === undefined ? undefined : options.timeout * 1000;
      const { task: last, timedOut } = await waitForTask(api, submitted.taskUuid, timeoutMs);
      if (options.output === 'json') printJson(last);
      else writeOut(formatTask(last));
      if (timedOut) {
        throw new CliError(
          ExitCode.Timeout,
          `gave up after ${options.timeout} s: task ${last.taskUuid} is still ${last.status} ` +
            `and goes on (tasker-ctl task get ${last.taskUuid})`,
        );
      }
      if (!SUCCESS_STATES.includes(last.status)) {
        throw new CliError(ExitCode.Failed, `task ${last.taskUuid} ended ${last.status}`);
      }
    });

  withApiOptions(task.command('get'))
    .description('a task with its steps')
    .argument('<taskUuid>')
    .addOption(outputOption())
    .action(async (taskUuid: string, options: { output: OutputFormat }, command: Command) => {
      const found = await apiClientFor(command).tasks.get(taskUuid);
      if (options.output === 'json') return printJson(found);
      writeOut(formatTask(found));
    });

  withApiOptions(task.command('steps'))
    .description("a task's steps: state, attempts, dependencies, result or error")
    .argument('<taskUuid>')
    .addOption(outputOption())
    .action(async (taskUuid: string, options: { output: OutputFormat }, command: Command) => {
      const found = await apiClientFor(command).tasks.get(taskUuid);
      if (options.output === 'json') return printJson(found.steps);
      writeOut(formatSteps(found.steps));
    });

  withApiOptions(task.command('list'))
    .description('tasks, newest first, a page at a time')
    .option('--namespace <namespace>')
    .option('--name <name>')
    .addOption(new Option('--status <status>').choices(TASK_STATES))
    .option('--limit <n>', 'page size, up to 200', positiveInteger, 50)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .addOption(outputOption())
    .action(
      async (
        options: {
          namespace?: string;
          name?: string;
          status?: TaskState;
          limit: number;
          cursor?: string;
          output: OutputFormat;
        },
        command: Command,
      ) => {
        const page = await apiClientFor(command).tasks.list({
          namespace: options.namespace,
          name: options.name,
          status: options.status,
          limit: options.limit,
          cursor: options.cursor,
        });
        if (options.output === 'json') return printJson(page);
        writeOut(
          formatTable(
            ['task', 'template', 'status', 'requested', 'completed'],
            page.items.map((t) => [
              t.taskUuid,
              `${t.namespace}/${t.name}@${t.version}`,
              t.status,
              t.requestedAt,
              t.completedAt ?? '-',
            ]),
          ),
        );
        if (page.nextCursor) writeErr(`more: add --cursor ${page.nextCursor}`);
      },
    );

  withApiOptions(task.command('cancel'))
    .description('cancel a task that has not ended, and its unfinished steps')
    .argument('<taskUuid>')
    .option('--reason <text>', 'recorded on the cancellation')
    .addOption(outputOption())
    .action(
      async (
        taskUuid: string,
        options: { reason?: string; output: OutputFormat },
        command: Command,
      ) => {
        const reply = await apiClientFor(command).tasks.cancel(taskUuid, options.reason);
        if (options.output === 'json') return printJson(reply);
        writeOut(
          formatFields([
            ['Task', reply.taskUuid],
            ['Status', reply.status],
            ['Cancelled steps', String(reply.cancelledSteps)],
          ]),
        );
      },
    );
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be an integer');
  return parsed;
}
