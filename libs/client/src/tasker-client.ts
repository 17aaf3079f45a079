import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ConcurrencyKey,
  CancelledTask,
  DlqEntryDetailView,
  DlqPage,
  DlqStats,
  ItemList,
  MinuteOfFinishes,
  PublishedEventView,
  QueueDepth,
  ReceivedEventView,
  ScheduleRunPage,
  SchedulePage,
  ScheduleView,
  StepDetailView,
  StepTransitionView,
  SubmittedTask,
  TaskCounts,
  TaskPage,
  TaskTemplate,
  TaskView,
  TemplateSummaryView,
  UpcomingFire,
} from '#core';
import { isTerminalTaskState } from '#core';
import { HttpTransport } from './http-transport.js';
import type {
  CreateScheduleRequest,
  CreateTaskRequest,
  ListDlqQuery,
  ListEventsQuery,
  ListSchedulesQuery,
  ListTasksQuery,
  PageQuery,
  PublishEventRequest,
  ResolveDlqEntryRequest,
  StepActionRequest,
  UpdateScheduleRequest,
} from './requests.js';
import { TaskerWaitTimeoutError } from './tasker-client.error.js';

export interface TaskerClientOptions {
  /** The orchestration app, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  baseUrl: string;
  /** Sent as X-API-Key. */
  apiKey?: string | undefined;
  /** Per request, connect to last byte; 30 s when omitted. */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** Give up (TaskerWaitTimeoutError) once this long has passed; no limit when omitted. */
  timeoutMs?: number;
  /** Between readings; 500 ms when omitted. */
  pollIntervalMs?: number;
  /** Called with every reading of the task, e.g. to show progress. */
  onReading?: (task: TaskView, elapsedMs: number) => void;
}

const path = (...segments: string[]) => segments.map(encodeURIComponent).join('/');

/**
 * A typed client of the orchestration HTTP API (its OpenAPI document is at /docs-json). Every
 * method resolves with the API's reply and rejects with a TaskerClientError subclass.
 */
export class TaskerClient {
  private readonly http: HttpTransport;

  constructor(options: TaskerClientOptions) {
    this.http = new HttpTransport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  private async call<T>(
    method: string,
    route: string,
    options: { query?: object; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    return (await this.http.request<T>(method, route, options)).body;
  }

  readonly tasks = {
    /** Submits a task; its root steps are enqueued before this resolves. */
    create: (request: CreateTaskRequest, options: { traceparent?: string } = {}) =>
      this.call<SubmittedTask>('POST', '/v1/tasks', {
        body: request,
        headers: options.traceparent ? { traceparent: options.traceparent } : {},
      }),
    list: (query: ListTasksQuery = {}) => this.call<TaskPage>('GET', '/v1/tasks', { query }),
    get: (taskUuid: string) => this.call<TaskView>('GET', `/v1/tasks/${path(taskUuid)}`),
    /** Every step transition of the task, oldest first per step. */
    transitions: (taskUuid: string) =>
      this.call<ItemList<StepTransitionView>>('GET', `/v1/tasks/${path(taskUuid)}/transitions`),
    cancel: (taskUuid: string, reason?: string) =>
      this.call<CancelledTask>('DELETE', `/v1/tasks/${path(taskUuid)}`, { query: { reason } }),
    /** Polls the task until it ends (complete, error, cancelled, resolved manually). */
    waitFor: (taskUuid: string, options: WaitOptions = {}) => this.waitFor(taskUuid, options),
    /** Submits a task and waits for it to end; resolves with its final reading. */
    createAndWait: async (request: CreateTaskRequest, options: WaitOptions = {}) => {
      const submitted = await this.tasks.create(request);
      return this.waitFor(submitted.taskUuid, options);
    },
  };

  readonly steps = {
    /** The step with its whole history. */
    get: (taskUuid: string, stepUuid: string) =>
      this.call<StepDetailView>('GET', `/v1/tasks/${path(taskUuid, 'steps', stepUuid)}`),
    /** reset_for_retry, resolve_manually or complete_manually; 409 when it does not apply. */
    act: (taskUuid: string, stepUuid: string, action: StepActionRequest) =>
      this.call<StepDetailView>('PATCH', `/v1/tasks/${path(taskUuid, 'steps', stepUuid)}`, {
        body: action,
      }),
  };

  readonly templates = {
    list: () => this.call<ItemList<TemplateSummaryView>>('GET', '/v1/templates'),
    get: (namespace: string, name: string, version: string) =>
      this.call<TaskTemplate>('GET', `/v1/templates/${path(namespace, name, version)}`),
  };

  readonly schedules = {
    create: (request: CreateScheduleRequest) =>
      this.call<ScheduleView>('POST', '/v1/schedules', { body: request }),
    list: (query: ListSchedulesQuery = {}) =>
      this.call<SchedulePage>('GET', '/v1/schedules', { query }),
    get: (scheduleUuid: string) =>
      this.call<ScheduleView>('GET', `/v1/schedules/${path(scheduleUuid)}`),
    update: (scheduleUuid: string, changes: UpdateScheduleRequest) =>
      this.call<ScheduleView>('PATCH', `/v1/schedules/${path(scheduleUuid)}`, { body: changes }),
    delete: (scheduleUuid: string) =>
      this.call<undefined>('DELETE', `/v1/schedules/${path(scheduleUuid)}`),
    runNow: (scheduleUuid: string) =>
      this.call<{ scheduleUuid: string; taskUuid: string }>(
        'POST',
        `/v1/schedules/${path(scheduleUuid)}/run-now`,
      ),
    /** Skips the next fire, or with `until` every fire up to then. */
    snooze: (scheduleUuid: string, until?: string) =>
      this.call<ScheduleView>('POST', `/v1/schedules/${path(scheduleUuid)}/snooze`, {
        body: until === undefined ? {} : { until },
      }),
    runs: (scheduleUuid: string, query: PageQuery = {}) =>
      this.call<ScheduleRunPage>('GET', `/v1/schedules/${path(scheduleUuid)}/runs`, { query }),
  };

  readonly dlq = {
    list: (query: ListDlqQuery = {}) => this.call<DlqPage>('GET', '/v1/dlq', { query }),
    get: (entryUuid: string) => this.call<DlqEntryDetailView>('GET', `/v1/dlq/${path(entryUuid)}`),
    resolve: (entryUuid: string, decision: ResolveDlqEntryRequest) =>
      this.call<DlqEntryDetailView>('PATCH', `/v1/dlq/${path(entryUuid)}`, { body: decision }),
    stats: () => this.call<DlqStats>('GET', '/v1/dlq/stats'),
  };

  readonly events = {
    /** Starts a task of every template that triggers on the event (POST /v1/events). */
    publish: (event: PublishEventRequest) =>
      this.call<PublishedEventView>('POST', '/v1/events', { body: event }),
    list: (query: ListEventsQuery = {}) =>
      this.call<ItemList<ReceivedEventView>>('GET', '/v1/events', { query }),
    get: (eventId: string) => this.call<ReceivedEventView>('GET', `/v1/events/${path(eventId)}`),
  };

  readonly stats = {
    tasks: () => this.call<TaskCounts>('GET', '/v1/stats/tasks'),
    /** Completions and failures per minute over the last `minutes` (1 to 180; 60). */
    finishes: (minutes?: number) =>
      this.call<ItemList<MinuteOfFinishes>>('GET', '/v1/stats/finishes', { query: { minutes } }),
    queues: () => this.call<ItemList<QueueDepth>>('GET', '/v1/stats/queues'),
    upcomingFires: (limit?: number) =>
      this.call<ItemList<UpcomingFire>>('GET', '/v1/stats/upcoming-fires', { query: { limit } }),
    /** Keys of the concurrency and rate limits with slots held or steps waiting (max: 1 to 1000). */
    concurrency: (query: { limit?: string; max?: number } = {}) =>
      this.call<ItemList<ConcurrencyKey>>('GET', '/v1/concurrency', { query }),
  };

  private async waitFor(taskUuid: string, options: WaitOptions): Promise<TaskView> {
    const { timeoutMs, pollIntervalMs = 500, onReading } = options;
    const started = Date.now();
    for (;;) {
      const task = await this.tasks.get(taskUuid);
      const elapsed = Date.now() - started;
      onReading?.(task, elapsed);
      if (isTerminalTaskState(task.status)) return task;
      if (timeoutMs !== undefined && elapsed >= timeoutMs) {
        throw new TaskerWaitTimeoutError(task, timeoutMs);
      }
      const wait =
        timeoutMs === undefined ? pollIntervalMs : Math.min(pollIntervalMs, timeoutMs - elapsed);
      await sleep(Math.max(0, wait));
    }
  }
}
