import type { Command } from 'commander';
import type { TaskerClient } from '#client';
import type { StepDetailView, TransitionView } from '#core';
import { apiClientFor, withApiOptions } from '../api-options.js';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { readJsonOption } from '../json-input.js';
import { operatorOption } from '../operator-option.js';
import {
  formatFields,
  formatTable,
  oneLine,
  type OutputFormat,
  outputOption,
  printJson,
  writeOut,
} from '../output.js';
import { inDagOrder } from './template-graph.js';

/** The API's step actions, by subcommand. */
const ACTIONS = {
  reset: {
    action: 'reset_for_retry',
    description: 'run a step in error again, with a fresh retry budget (reopens an errored task)',
  },
  resolve: {
    action: 'resolve_manually',
    description: 'mark an unfinished or failed step done without a result; its dependents run',
  },
  complete: {
    action: 'complete_manually',
    description: 'complete an unfinished or failed step with the result its dependents receive',
  },
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ActionOptions {
  operator: string;
  reason: string;
  result?: string;
  output: OutputFormat;
}

/** `step get|reset|resolve|complete` over /v1/tasks/:task/steps/:step. */
export function registerStepCommands(program: Command): void {
  const step = program
    .command('step')
    .description("show a step's history; reset, resolve or complete it by hand");
  const stepArgument = 'the step: its UUID, or its name in the task';

  withApiOptions(step.command('get'))
    .description('a step with its history: every state it went through, who moved it and why')
    .argument('<taskUuid>')
    .argument('<step>', stepArgument)
    .addOption(outputOption())
    .action(
      async (
        taskUuid: string,
        ref: string,
        options: { output: OutputFormat },
        command: Command,
      ) => {
        const api = apiClientFor(command);
        const found = await api.steps.get(taskUuid, await stepUuidOf(api, taskUuid, ref));
        if (options.output === 'json') return printJson(found);
        writeOut(formatStepDetail(found));
      },
    );

  for (const [name, { action, description }] of Object.entries(ACTIONS)) {
    const sub = withApiOptions(step.command(name))
      .description(`${description}; 409 (exit 4) where it does not apply`)
      .argument('<taskUuid>')
      .argument('<step>', stepArgument)
      .addOption(operatorOption('--operator <name>', 'who acts, recorded in the step history'))
      .requiredOption('--reason <text>', 'why, recorded in the step history');
    if (action === 'complete_manually') {
      sub.requiredOption('--result <json>', 'the step result: JSON, @file.json, or @- for stdin');
    }
    sub
      .addOption(outputOption())
      .action(async (taskUuid: string, ref: string, options: ActionOptions, command: Command) => {
        const api = apiClientFor(command);
        const result =
          options.result === undefined ? undefined : readJsonOption('--result', options.result);
        const changed = await api.steps.act(taskUuid, await stepUuidOf(api, taskUuid, ref), {
          action,
          operator: options.operator,
          reason: options.reason,
          result,
        });
        if (options.output === 'json') return printJson(changed);
        writeOut(formatStepDetail(changed));
      });
  }
}

/** The step's UUID; a step given by name is looked up in its task. */
async function stepUuidOf(api: TaskerClient, taskUuid: string, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const task = await api.tasks.get(taskUuid);
  const found = task.steps.find((s) => s.name === ref);
  if (!found) {
    const names = inDagOrder(task.steps).map((s) => s.name);
    throw new CliError(
      ExitCode.ClientError,
      `task ${taskUuid} has no step named '${ref}' (its steps: ${names.join(', ')})`,
    );
  }
  return found.stepUuid;
}

/** `step get` as a table: the step's fields, then its history oldest first. */
export function formatStepDetail(step: StepDetailView): string {
  const fields: [string, string][] = [
    ['Step', step.stepUuid],
    ['Task', step.taskUuid],
    ['Name', step.name],
    ['Handler', step.handler],
    ['State', step.state],
    ['Attempts', `${step.attempts}/${step.maxAttempts}${step.retryable ? '' : ' (not retryable)'}`],
    ['After', step.dependsOn.length > 0 ? step.dependsOn.join(', ') : '-'],
    ['Last attempt', step.lastAttemptedAt ?? '-'],
  ];
  if (step.nextRetryAt) fields.push(['Next retry', step.nextRetryAt]);
  fields.push(['Result', oneLine(step.result, 100)]);
  if (step.error) fields.push(['Last error', oneLine(step.error.message ?? step.error, 100)]);
  const history = formatTable(
    ['at', 'from', 'to', 'by', 'why'],
    step.transitions.map((t) => [t.createdAt, t.fromState ?? '-', t.toState, by(t), why(t)]),
  );
  return `${formatFields(fields)}\n\n${history}`;
}

/** The operator who acted, else the process (worker or orchestration replica) that did. */
function by(transition: TransitionView): string {
  const { operator } = transition.metadata;
  if (typeof operator === 'string') return operator;
  return transition.processorUuid ?? '-';
}

/** An operator's action and reason, else the transition's metadata as key=value pairs. */
function why(transition: TransitionView): string {
  const { metadata } = transition;
  if (typeof metadata.operator === 'string') {
    return `${String(metadata.action)}: ${oneLine(metadata.reason, 80)}`;
  }
  const pairs = Object.entries(metadata);
  return pairs.length > 0 ? pairs.map(([k, v]) => `${k}=${oneLine(v, 60)}`).join(', ') : '-';
}
