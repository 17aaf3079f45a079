/** A task an event started. */
export interface EventTaskView {
  taskUuid: string;
  namespace: string;
  name: string;
  version: string;
}

/** What became of a received event. */
export type ReceivedEventOutcome = 'matched' | 'unmatched' | 'depth_exceeded' | 'refused';

/** An event Tasker received (POST /v1/events, or a domain event a step published). */
export interface ReceivedEventView {
  eventId: string;
  name: string;
  payload: unknown;
  idempotencyKey: string | null;
  correlationId: string | null;
  source: 'api' | 'domain_event';
  /** Events that led to it: 0 from the API, one more per task an event started. */
  depth: number;
  outcome: ReceivedEventOutcome;
  /** The task whose step published it (domain events). */
  sourceTaskUuid: string | null;
  receivedAt: string;
  tasks: EventTaskView[];
}

/** POST /v1/events' answer: `duplicate` when its idempotency key was seen before. */
export interface PublishedEventView extends ReceivedEventView {
  duplicate: boolean;
}
