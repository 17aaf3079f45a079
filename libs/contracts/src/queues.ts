/** Queue names shared by every adapter (ARCHITECTURE §5). */
export const ORCHESTRATION_STEP_RESULTS_QUEUE = 'orchestration_step_results';

export function workerQueueName(namespace: string): string {
  return `worker_${namespace}_queue`;
}

/** Where a queue's messages that can never be processed go, kept for inspection. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}_dlq`;
}

/** The PostgreSQL NOTIFY channel a PGMQ send to `queue` announces itself on. */
export function messageReadyChannel(queue: string): string {
  return `tasker_message_ready.${queue}`;
}

interface DerivedName {
  what: string;
  of: (queue: string) => string;
  maxBytes: number;
  limit: string;
}

/** pgmq refuses longer queue names (its table names must fit PostgreSQL; migrations/0002). */
const PGMQ_QUEUE_NAME = "pgmq's queue name limit";
/** NAMEDATALEN - 1: tables and notify channels alike; longer ones are cut or refused. */
const POSTGRES_IDENTIFIER = "PostgreSQL's identifier limit";

/**
 * Every name made from a queue's name, with the limit of the system that holds it. A queue
 * whose names do not all fit would be accepted and then fail at its first send or LISTEN.
 */
const DERIVED_NAMES: readonly DerivedName[] = [
  { what: 'queue', of: (queue) => queue, maxBytes: 47, limit: PGMQ_QUEUE_NAME },
  { what: 'dead-letter queue', of: deadLetterQueueName, maxBytes: 47, limit: PGMQ_QUEUE_NAME },
  { what: 'notify channel', of: messageReadyChannel, maxBytes: 63, limit: POSTGRES_IDENTIFIER },
  // pgmq's queue and archive tables, for the queue and its dead-letter queue.
  ...['q', 'a'].flatMap((prefix) => [
    {
      what: 'pgmq table',
      of: (queue: string) => `${prefix}_${queue}`,
      maxBytes: 63,
      limit: POSTGRES_IDENTIFIER,
    },
    {
      what: 'pgmq table',
      of: (queue: string) => `${prefix}_${deadLetterQueueName(queue)}`,
      maxBytes: 63,
      limit: POSTGRES_IDENTIFIER,
    },
  ]),
  { what: 'RabbitMQ queue', of: deadLetterQueueName, maxBytes: 255, limit: "RabbitMQ's limit" },
];

const byteLength = (text: string) => new TextEncoder().encode(text).length;

/** The first name derived from `queue` that is too long for where it goes, described. */
function firstOverLimit(queue: string): string | null {
  for (const derived of DERIVED_NAMES) {
    const name = derived.of(queue);
    const bytes = byteLength(name);
    if (bytes > derived.maxBytes) {
      return `its ${derived.what} '${name}' would be ${bytes} bytes, over ${derived.limit} of ${derived.maxBytes}`;
    }
  }
  return null;
}

/** The longest namespace (ASCII, as template names are) whose every derived name fits. */
export const MAX_NAMESPACE_LENGTH = Math.min(
  ...DERIVED_NAMES.map((d) => d.maxBytes - byteLength(d.of(workerQueueName('')))),
);

/** Why a namespace is too long for the names derived from it; null when they all fit. */
export function namespaceNameProblem(namespace: string): string | null {
  const over = firstOverLimit(workerQueueName(namespace));
  if (over === null) return null;
  return `namespace '${namespace}' is ${namespace.length} characters; at most ${MAX_NAMESPACE_LENGTH} fit in the names derived from it (${over})`;
}
