import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError, type TaskPage, type TaskFilter, tasksApi } from './api';
import { formatTime, PollProblem, StatusBadge, TASK_STATES, UUID } from './format';
import { Pager } from './pager';
import { usePoll } from './use-poll';

const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

/**
 * Tasks, newest first, filtered by namespace, name and status; the search box takes a task
 * UUID or a correlation id. Pages follow the API's cursors (a stack of them to go back); the
 * page on screen is reloaded every few seconds.
 */
export function TasksList() {
  // Links (from the overview) may name a first filter: /ui/tasks?status=error
  const { query } = useLocation();
  const [filter, setFilter] = useState<TaskFilter>({
    namespace: query.namespace,
    name: query.name,
    status: query.status,
  });
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const templates = usePoll(() => tasksApi.templates(), 60_000, []);
  const cursor = cursors.at(-1);

  const page = usePoll(
    async (): Promise<TaskPage> => {
      const term = search.trim();
      if (UUID.test(term)) {
        // A UUID is a task's own id, or else a correlation id that happens to be one.
        try {
          return { items: [await tasksApi.get(term)], nextCursor: null };
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }
      return tasksApi.list(
        { ...filter, ...(term ? { correlationId: term } : {}), ...(cursor ? { cursor } : {}) },
        PAGE_SIZE,
      );
    },
    REFRESH_MS,
    [filter, search, cursor],
  );

  const change = (next: TaskFilter) => {
    setFilter(next);
    setCursors([]);
  };
  const namespaces = [...new Set(templates.data?.items.map((t) => t.namespace) ?? [])].sort();
  const names = [
    ...new Set(
      templates.data?.items
        .filter((t) => !filter.namespace || t.namespace === filter.namespace)
        .map((t) => t.name) ?? [],
    ),
  ].sort();

  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Namespace
          <select
            name="namespace"
            value={filter.namespace ?? ''}
            onChange={(e) =>
              change({ ...filter, namespace: e.currentTarget.value || undefined, name: undefined })
            }
          >
            <option value="">any</option>
            {namespaces.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <select
            name="name"
            value={filter.name ?? ''}
            onChange={(e) => change({ ...filter, name: e.currentTarget.value || undefined })}
          >
            <option value="">any</option>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select
            name="status"
            value={filter.status ?? ''}
            onChange={(e) => change({ ...filter, status: e.currentTarget.value || undefined })}
          >
            <option value="">any</option>
            {TASK_STATES.map((state) => (
              <option key={state} value={state}>
                {state.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Submitted from
          <input
            type="datetime-local"
            name="from"
            onChange={(e) =>
              change({ ...filter, requestedFrom: localToIso(e.currentTarget.value) })
            }
          />
        </label>
        <label>
          Submitted before
          <input
            type="datetime-local"
            name="before"
            onChange={(e) =>
              change({ ...filter, requestedBefore: localToIso(e.currentTarget.value) })
            }
          />
        </label>
        <label class="grow">
          Task UUID or correlation id
          <input
            type="search"
            name="search"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              setCursors([]);
            }}
          />
        </label>
      </form>
      <PollProblem page={page} loading />
      {page.data && (
        <>
          <table class="tasks">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col">Correlation id</th>
                <th scope="col">Requested</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.length === 0 && (
                <tr>
                  <td colSpan={5}>No tasks match.</td>
                </tr>
              )}
              {page.data.items.map((task) => (
                <tr key={task.taskUuid} data-task={task.taskUuid}>
                  <td>
                    <a href={`/ui/tasks/${task.taskUuid}`}>
                      {task.namespace}/{task.name} <span class="muted">{task.version}</span>
                    </a>
                    <div class="mono muted">{task.taskUuid}</div>
                  </td>
                  <td>
                    <StatusBadge status={task.status} />
                  </td>
                  <td class="mono">{task.correlationId}</td>
                  <td>{formatTime(task.requestedAt)}</td>
                  <td>{formatTime(task.completedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} nextCursor={page.data.nextCursor} onChange={setCursors} />
        </>
      )}
    </section>
  );
}

/** A datetime-local value (the browser's zone) as an instant; empty is no bound. */
function localToIso(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}
