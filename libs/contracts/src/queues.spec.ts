import {
  deadLetterQueueName,
  MAX_NAMESPACE_LENGTH,
  messageReadyChannel,
  namespaceNameProblem,
  workerQueueName,
} from './queues.js';

describe('names derived from a namespace', () => {
  it('derives the queue, its dead-letter queue and its notify channel', () => {
    expect(workerQueueName('billing')).toBe('worker_billing_queue');
    expect(deadLetterQueueName('worker_billing_queue')).toBe('worker_billing_queue_dlq');
    expect(messageReadyChannel('worker_billing_queue')).toBe(
      'tasker_message_ready.worker_billing_queue',
    );
  });

  it('allows the longest namespace whose notify channel fits PostgreSQL, and no longer', () => {
    expect(MAX_NAMESPACE_LENGTH).toBe(29);
    const longest = 'n'.repeat(MAX_NAMESPACE_LENGTH);
    expect(new TextEncoder().encode(messageReadyChannel(workerQueueName(longest))).length).toBe(63);
    expect(namespaceNameProblem(longest)).toBeNull();
    expect(namespaceNameProblem(`${longest}n`)).toMatch(
      /^namespace 'n{30}' is 30 characters; at most 29 fit/,
    );
  });

  it("names the first derived name over its system's limit", () => {
    const n32 = 'n'.repeat(32);
    expect(namespaceNameProblem(n32)).toBe(
      `namespace '${n32}' is 32 characters; at most 29 fit in the names derived from it ` +
        `(its dead-letter queue 'worker_${n32}_queue_dlq' would be 49 bytes, ` +
        `over pgmq's queue name limit of 47)`,
    );
  });
});
