/**
 * Domain events a step publishes (its template's `publishes_events`), as consumers outside
 * Tasker receive them: on PGMQ from the namespace's queue `<namespace>_domain_events`, on
 * RabbitMQ from the topic exchange `tasker_domain_events` with the event name as routing key.
 * Delivery is at least once; `eventId` is stable, for consumers to de-duplicate.
 */
export interface DomainEvent {
  eventId: string;
  /** The declared name, e.g. `order.confirmed`. */
  name: string;
  /** The step outcome that published it. */
  outcome: 'success' | 'retryable_failure' | 'permanent_failure';
  /** The step's result on success, `{ error }` (its last error) on a failure. */
  payload: unknown;
  namespace: string;
  taskUuid: string;
  stepUuid: string;
  stepName: string;
  correlationId: string;
  traceparent: string | null;
  occurredAt: string;
}

/** The PGMQ queue of a namespace's durable domain events. */
export function domainEventsQueueName(namespace: string): string {
  return `${namespace}_domain_events`;
}

/** The RabbitMQ topic exchange of every durable domain event (routing key: the event name). */
export const DOMAIN_EVENTS_EXCHANGE = 'tasker_domain_events';
