import type { StepDetailView, TaskPage, TaskView } from '../../../libs/core/src/views/task-views';

export type {
  StepDetailView,
  StepView,
  TaskPage,
  TaskSummaryView,
  TaskView,
} from '../../../libs/core/src/views/task-views';

import type { ConcurrencyKey } from '../../../libs/core/src/views/concurrency-views';
import type { DlqEntryDetailView, DlqPage, DlqStats } from '../../../libs/core/src/views/dlq-views';
import type {
  ScheduleRunPage,
  SchedulePage,
  ScheduleView,
} from '../../../libs/core/src/views/schedule-views';

export type { ConcurrencyKey } from '../../../libs/core/src/views/concurrency-views';
export type {
  DlqEntryDetailView,
  DlqEntryView,
  DlqPage,
  DlqStats,
} from '../../../libs/core/src/views/dlq-views';
export type {
  ScheduleRunPage,
  ScheduleRunView,
  SchedulePage,
  ScheduleView,
} from '../../../libs/core/src/views/schedule-views';

/** The key lives for this browser tab only, never in a URL, a cookie or local storage. */
const KEY_STORAGE = 'tasker.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** What an operator reads: the status and the API's own message. */
  describe(): string {
    const what =
      this.status === 401
        ? 'Refused: no valid API key'
        : this.status === 403
          ? 'Refused: this key may only read'
          : this.status === 409
            ? 'Not applied'
            : `Failed (${this.status})`;
    return `${what} — ${this.message}`;
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

const unauthorizedListeners = new Set<() => void>();

/** Called whenever the API answers 401: the page then asks for a key again. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * One call of the public /v1 API with the stored key in X-API-Key. GETs revalidate
 * (`no-cache`): the browser sends If-None-Match and the API answers 304 when nothing changed.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = storedKey();
  if (key) headers['X-API-Key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/v1${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-cache',
  });
  const text = await response.text();
  const data: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = (data as { message?: unknown } | null)?.message;
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
    throw new ApiError(
      response.status,
      Array.isArray(message)
        ? message.join('; ')
        : typeof message === 'string'
          ? message
          : response.statusText,
    );
  }
  return data as T;
}

export interface TemplateSummary {
  namespace: string;
  name: string;
  version: string;
  description: string | null;
  steps: { name: string; handler: string; dependsOn: string[] }[];
}

export interface StepTransitionRow {
  stepUuid: string;
  fromState: string | null;
  toState: string;
  createdAt: string;
}

export interface TaskFilter {
  namespace?: string;
  name?: string;
  status?: string;
  correlationId?: string;
  /** ISO 8601 instants. */
  requestedFrom?: string;
  requestedBefore?: string;
  cursor?: string;
}

export const tasksApi = {
  list(filter: TaskFilter, limit: number): Promise<TaskPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    for (const [field, value] of Object.entries(filter)) {
      if (typeof value === 'string' && value !== '') query.set(field, value);
    }
    return api('GET', `/tasks?${query.toString()}`);
  },
  get: (taskUuid: string) => api<TaskView>('GET', `/tasks/${encodeURIComponent(taskUuid)}`),
  transitions: (taskUuid: string) =>
    api<{ items: StepTransitionRow[] }>(
      'GET',
      `/tasks/${encodeURIComponent(taskUuid)}/transitions`,
    ),
  step: (taskUuid: string, stepUuid: string) =>
    api<StepDetailView>(
      'GET',
      `/tasks/${encodeURIComponent(taskUuid)}/steps/${encodeURIComponent(stepUuid)}`,
    ),
  act: (
    taskUuid: string,
    stepUuid: string,
    action: { action: string; operator: string; reason: string; result?: unknown },
  ) =>
    api<StepDetailView>(
      'PATCH',
      `/tasks/${encodeURIComponent(taskUuid)}/steps/${encodeURIComponent(stepUuid)}`,
      action,
    ),
  cancel: (taskUuid: string, reason: string) =>
    api<{ cancelledSteps: number }>(
      'DELETE',
      `/tasks/${encodeURIComponent(taskUuid)}?${new URLSearchParams({ reason }).toString()}`,
    ),
  templates: () => api<{ items: TemplateSummary[] }>('GET', '/templates'),
};

export interface TaskCounts {
  byStatus: Record<string, number>;
  /** A count above this is shown as "cap+". */
  cap: number;
}

export interface MinuteOfFinishes {
  minute: string;
  complete: number;
  error: number;
}

function query(fields: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined && value !== '') params.set(field, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export const statsApi = {
  tasks: () => api<TaskCounts>('GET', '/stats/tasks'),
  finishes: (minutes: number) =>
    api<{ items: MinuteOfFinishes[] }>('GET', `/stats/finishes${query({ minutes })}`),
  queues: () => api<{ items: { queue: string; depth: number }[] }>('GET', '/stats/queues'),
  upcomingFires: (limit: number) =>
    api<{ items: { scheduleUuid: string; namespace: string; name: string; nextFireAt: string }[] }>(
      'GET',
      `/stats/upcoming-fires${query({ limit })}`,
    ),
  dlq: () => api<DlqStats>('GET', '/dlq/stats'),
};

export const dlqApi = {
  list: (filter: { status?: string; cursor?: string }, limit: number) =>
    api<DlqPage>('GET', `/dlq${query({ ...filter, limit })}`),
  get: (entryUuid: string) =>
    api<DlqEntryDetailView>('GET', `/dlq/${encodeURIComponent(entryUuid)}`),
  resolve: (
    entryUuid: string,
    body: { resolutionStatus: string; resolutionNotes: string; resolvedBy: string },
  ) => api<DlqEntryDetailView>('PATCH', `/dlq/${encodeURIComponent(entryUuid)}`, body),
};

export const limitsApi = {
  /** Keys with slots held or steps waiting, busiest first; `limit`: one limit's whole name. */
  keys: (filter: { limit?: string }, max: number) =>
    api<{ items: ConcurrencyKey[] }>('GET', `/concurrency${query({ ...filter, max })}`),
};

export const schedulesApi = {
  list: (filter: { cursor?: string }, limit: number) =>
    api<SchedulePage>('GET', `/schedules${query({ ...filter, limit })}`),
  setEnabled: (scheduleUuid: string, enabled: boolean) =>
    api<ScheduleView>('PATCH', `/schedules/${encodeURIComponent(scheduleUuid)}`, { enabled }),
  runNow: (scheduleUuid: string) =>
    api<{ scheduleUuid: string; taskUuid: string }>(
      'POST',
      `/schedules/${encodeURIComponent(scheduleUuid)}/run-now`,
      {},
    ),
  runs: (scheduleUuid: string) =>
    api<ScheduleRunPage>(
      'GET',
      `/schedules/${encodeURIComponent(scheduleUuid)}/runs${query({ limit: 20 })}`,
    ),
};
