/** Queue names shared by every adapter (ARCHITECTURE §5). */
export const ORCHESTRATION_STEP_RESULTS_QUEUE = 'orchestration_step_results';

export function workerQueueName(namespace: string): string {
  return `worker_${namespace}_queue`;
}

/** Where a queue's messages that can never be processed go, kept for inspection. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}_dlq`;
}
