import { TERMINAL_TASK_STATES } from '../../../libs/core/src/states/task-state';
import { ApiError } from './api';

export { TASK_STATES } from '../../../libs/core/src/states/task-state';

export function isTerminalTask(status: string): boolean {
  return (TERMINAL_TASK_STATES as readonly string[]).includes(status);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { hour12: false });
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge state-${status}`} data-status={status}>
      {status.replace(/_/g, ' ')}
    </span>
  );
}

/** A polled page's failure as an alert, and (with `loading`) a status line until its first data. */
export function PollProblem({
  page,
  loading = false,
}: {
  page: { data?: unknown; error?: Error };
  loading?: boolean;
}) {
  if (page.error) {
    return (
      <p role="alert" class="error">
        {page.error instanceof ApiError ? page.error.describe() : page.error.message}
      </p>
    );
  }
  return loading && page.data === undefined ? <p role="status">Loading…</p> : null;
}
