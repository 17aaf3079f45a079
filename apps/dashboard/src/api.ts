import type { StepDetailView, TaskPage, TaskView } from '../../../libs/core/src/views/task-views';

export type {
  StepDetailView,
  StepView,
  TaskPage,
  TaskSummaryView,
  TaskView,
} from '../../../libs/core/src/views/task-views';

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
