import type { TaskView } from '#core';

/** Every failure of a {@link TaskerClient} call is one of these. */
export class TaskerClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The API could not be reached, or gave no answer within the request timeout. */
export class TaskerConnectionError extends TaskerClientError {}

/** The body of an error reply (see ErrorBody in the OpenAPI document). */
export interface ErrorBody {
  statusCode: number;
  message: string | string[];
  /** A domain error code (task_not_found, duplicate_task, conflict, …) or the status text. */
  error?: string;
  details?: Record<string, unknown>;
}

/** The API answered, but not with what the call expected. */
export class TaskerApiError extends TaskerClientError {
  constructor(
    message: string,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The error reply, when it was JSON. */
    readonly body: ErrorBody | undefined,
    /** Seconds, from Retry-After (503 under backpressure). */
    readonly retryAfter: string | null,
  ) {
    super(message);
  }

  /** The domain error code (snake_case), when the API gave one. */
  get code(): string | undefined {
    const error = this.body?.error;
    return typeof error === 'string' && /^[a-z_]+$/.test(error) ? error : undefined;
  }
}

/** The API refused the request (4xx): invalid input, API key, not found, conflict. */
export class TaskerRequestError extends TaskerApiError {}

/** The API failed (5xx, 503 under backpressure included) or answered something unreadable. */
export class TaskerServerError extends TaskerApiError {}

/** `waitFor`/`createAndWait` gave up before the task ended; the task goes on. */
export class TaskerWaitTimeoutError extends TaskerClientError {
  constructor(
    /** The last reading of the task. */
    readonly task: TaskView,
    readonly timeoutMs: number,
  ) {
    super(`task ${task.taskUuid} is still ${task.status} after ${timeoutMs / 1000} s`);
  }
}
