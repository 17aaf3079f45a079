import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import type { StepDetailView } from '#core';
import { apiClientFor, withApiOptions } from '../api-options.js';
import { parseJsonInput } from '../json-input.js';
import {
  formatFields,
  formatTable,
  type OutputFormat,
  oneLine,
  outputOption,
  printJson,
  writeOut,
} from '../output.js';
import { stepOutcome } from './task-view.js';

const stepPath = (taskUuid: string, stepUuid: string) =>
  `/v1/tasks/${encodeURIComponent(taskUuid)}/steps/${encodeURIComponent(stepUuid)}`;

interface ActionOptions {
  operator: string;
  reason: string;
  result?: string;
  output: OutputFormat;
}

/** Who acts, recorded in the step's history: TASKER_OPERATOR, else the OS user. */
function defaultOperator(): string | undefined {
  if (process.env.TASKER_OPERATOR) return process.env.TASKER_OPERATOR;
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** `step get|reset|resolve|complete` over /v1/tasks/:task/steps/:step. */
export function registerStepCommands(program: Command): void {
  const step = program
    .command('step')
    .description("inspect a step's history, and reset, resolve or complete it by hand");

  withApiOptions(step.command('get'))
    .description('a step with every transition: when, from, to, and who or what moved it')
    .argument('<taskUuid>')
    .argument('<stepUuid>')
    .addOption(outputOption())
    .action(
      async (
        taskUuid: string,
        stepUuid: string,
        options: { output: OutputFormat },
        command: Command,
      ) => {
        const found = await apiClientFor(command).get<StepDetailView>(stepPath(taskUuid, stepUuid));
        if (options.output === 'json') return printJson(found);
        writeOut(formatStep(found));
      },
    );

  const actions: [string, string, string][] = [
    ['reset', 'reset_for_retry', 'run a failed step again with a fresh retry budget'],
    ['resolve', 'resolve_manually', 'mark a step done without a result; its dependents run'],
    ['complete', 'complete_manually', 'complete a step with a result its dependents receive'],
  ];
  for (const [name, action, description] of actions) {
    const command = withApiOptions(step.command(name))
      .description(`${description} (the task moves on; an errored task is reopened)`)
      .argument('<taskUuid>')
      .argument('<stepUuid>')
      .addOption(
        new Option('--operator <name>', 'who acts, recorded in the history')
          .env('TASKER_OPERATOR')
          .default(defaultOperator())
          .makeOptionMandatory(),
      )
      .requiredOption('--reason <text>', 'why, recorded in the history');
    if (action === 'complete_manually') {
      command.requiredOption('--result <json>', 'the result: JSON, @file.json, or @- for stdin');
    }
    command
      .addOption(outputOption())
      .action(async (taskUuid: string, stepUuid: string, options: ActionOptions, cmd: Command) => {
        const changed = await apiClientFor(cmd).patch<StepDetailView>(
          stepPath(taskUuid, stepUuid),
          {
            action,
            operator: options.operator,
            reason: options.reason,
            result:
              options.result === undefined ? undefined : parseJsonInput('--result', options.result),
          },
        );
        if (options.output === 'json') return printJson(changed);
        writeOut(formatStep(changed));
      });
  }
}

function formatStep(step: StepDetailView): string {
  const fields = formatFields([
    ['Step', `${step.name} (${step.stepUuid})`],
    ['Task', step.taskUuid],
    ['State', step.state],
    ['Attempts', `${step.attempts}/${step.maxAttempts}`],
    ['Handler', step.handler],
    ['Outcome', stepOutcome(step)],
  ]);
  const history = formatTable(
    ['at', 'from', 'to', 'why'],
    step.transitions.map((t) => [
      t.createdAt,
      t.fromState ?? '-',
      t.toState,
      Object.keys(t.metadata).length > 0 ? oneLine(t.metadata, 80) : '-',
    ]),
  );
  return `${fields}\n\n${history}`;
}
