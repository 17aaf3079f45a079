import type { Command } from 'commander';
import type { ReceivedEventView } from '#core';
import { apiClientFor, positiveInteger, withApiOptions } from '../api-options.js';
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

interface PublishOptions {
  payload: string;
  idempotencyKey?: string;
  correlationId?: string;
  output: OutputFormat;
}

interface ListOptions {
  name?: string;
  limit: number;
  output: OutputFormat;
}

/**
 * `event publish|list|get` over /v1/events: an event starts a task of every template that
 * lists it under `triggers`; the list shows what each event started.
 */
export function registerEventCommands(program: Command): void {
  const event = program
    .command('event')
    .description('events that start tasks: publish one, list the recent ones');

  withApiOptions(event.command('publish'))
    .description('publish an event: every template that triggers on it starts a task')
    .argument('<name>', 'the event name, e.g. order.placed')
    .option('--payload <json>', 'the payload, a JSON object (each task gets it as context)', '{}')
    .option('--idempotency-key <key>', 'the same key again starts nothing new')
    .option('--correlation-id <id>')
    .addOption(outputOption())
    .action(async (name: string, options: PublishOptions, command: Command) => {
      const published = await apiClientFor(command).events.publish({
        name,
        payload: readJsonObjectOption('--payload', options.payload),
        idempotencyKey: options.idempotencyKey,
        correlationId: options.correlationId,
      });
      if (options.output === 'json') return printJson(published);
      writeOut(formatEvent(published));
      if (published.duplicate) writeErr('seen before (same idempotency key): nothing new started');
    });

  withApiOptions(event.command('list'))
    .description('recent events, newest first, with the tasks they started')
    .option('--name <name>', 'only events of this name')
    .option('--limit <n>', 'how many, up to 500', positiveInteger, 50)
    .addOption(outputOption())
    .action(async (options: ListOptions, command: Command) => {
      const { items } = await apiClientFor(command).events.list({
        name: options.name,
        limit: options.limit,
      });
      if (options.output === 'json') return printJson({ items });
      if (items.length === 0) return writeErr('no events');
      writeOut(
        formatTable(
          ['event', 'name', 'source', 'depth', 'outcome', 'tasks', 'received'],
          items.map((e) => [
            e.eventId,
            e.name,
            e.source,
            String(e.depth),
            e.outcome,
            e.tasks.map((t) => `${t.namespace}/${t.name}`).join(', ') || '-',
            e.receivedAt,
          ]),
        ),
      );
    });

  withApiOptions(event.command('get'))
    .description('one event, with its payload and the tasks it started')
    .argument('<eventId>')
    .addOption(outputOption())
    .action(async (eventId: string, options: { output: OutputFormat }, command: Command) => {
      const found = await apiClientFor(command).events.get(eventId);
      if (options.output === 'json') return printJson(found);
      writeOut(formatEvent(found));
    });
}

function formatEvent(e: ReceivedEventView): string {
  return formatFields([
    ['event', e.eventId],
    ['name', e.name],
    ['outcome', e.outcome],
    ['source', e.sourceTaskUuid ? `${e.source} (task ${e.sourceTaskUuid})` : e.source],
    ['depth', String(e.depth)],
    ['received', e.receivedAt],
    ['payload', JSON.stringify(e.payload)],
    [
      'tasks',
      e.tasks.length === 0
        ? '-'
        : e.tasks.map((t) => `${t.taskUuid} ${t.namespace}/${t.name}@${t.version}`).join('; '),
    ],
  ]);
}
