import { type MinuteOfFinishes, statsApi } from './api';
import { formatTime, StatusBadge, TASK_STATES } from './format';
import { usePoll } from './use-poll';

const REFRESH_MS = 5000;
const WINDOW_MINUTES = 60;

/**
 * The state of the whole system at a glance: tasks by status, what finished in each minute of
 * the last hour, queue depths, pending DLQ entries and the next schedule fires.
 */
export function Overview() {
  const counts = usePoll(() => statsApi.tasks(), REFRESH_MS, []);
  const finishes = usePoll(() => statsApi.finishes(WINDOW_MINUTES), 15_000, []);
  const queues = usePoll(() => statsApi.queues(), REFRESH_MS, []);
  const dlq = usePoll(() => statsApi.dlq(), REFRESH_MS, []);
  const fires = usePoll(() => statsApi.upcomingFires(5), REFRESH_MS, []);
  const problem = [counts, finishes, queues, dlq, fires].find((p) => p.error)?.error;

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {problem && (
        <p role="alert" class="error">
          {problem.message}
        </p>
      )}
      <div class="panels">
        <section class="card span-2" aria-labelledby="by-status">
          <h2 id="by-status">Tasks by status</h2>
          {counts.data ? (
            <ul class="counts">
              {TASK_STATES.map((state) => {
                const n = counts.data!.byStatus[state] ?? 0;
                const shown =
                  n > counts.data!.cap
                    ? `${counts.data!.cap.toLocaleString()}+`
                    : n.toLocaleString();
                return (
                  <li key={state} data-count={state}>
                    <a href={`/ui/tasks?status=${state}`}>
                      <StatusBadge status={state} />
                    </a>{' '}
                    <strong>{shown}</strong>
                  </li>
                );
              })}
            </ul>
          ) : (
            <p role="status">Loading…</p>
          )}
        </section>
        <section class="card wide" aria-labelledby="finishes">
          <h2 id="finishes">Finished per minute, last hour</h2>
          {finishes.data ? <FinishesChart minutes={finishes.data.items} /> : <p>Loading…</p>}
        </section>
        <section class="card" aria-labelledby="queues">
          <h2 id="queues">Queue depths</h2>
          {queues.data && (
            <table>
              <tbody>
                {queues.data.items.map((q) => (
                  <tr key={q.queue} data-queue={q.queue}>
                    <th scope="row" class="mono">
                      {q.queue}
                    </th>
                    <td>{q.depth.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card" aria-labelledby="dlq-pending">
          <h2 id="dlq-pending">Dead-letter queue</h2>
          {dlq.data && (
            <p>
              <a href="/ui/dlq">
                <strong data-testid="dlq-pending">{dlq.data.byStatus.pending ?? 0}</strong> pending
              </a>
              {dlq.data.oldestPendingSeconds !== null &&
                `, oldest ${Math.round(dlq.data.oldestPendingSeconds / 60)} min`}
              <br />
              <span class="muted">{dlq.data.total} entries in all</span>
            </p>
          )}
        </section>
        <section class="card" aria-labelledby="next-fires">
          <h2 id="next-fires">Next schedule fires</h2>
          {fires.data && fires.data.items.length === 0 && <p class="muted">None scheduled.</p>}
          {fires.data && fires.data.items.length > 0 && (
            <table>
              <tbody>
                {fires.data.items.map((f) => (
                  <tr key={f.scheduleUuid}>
                    <th scope="row">
                      <a href="/ui/schedules">
                        {f.namespace}/{f.name}
                      </a>
                    </th>
                    <td>{formatTime(f.nextFireAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </section>
  );
}

const CHART_WIDTH = 600;
const CHART_HEIGHT = 120;

/** Stacked bars per minute: completions (green) under failures (red). */
function FinishesChart({ minutes }: { minutes: MinuteOfFinishes[] }) {
  const most = Math.max(1, ...minutes.map((m) => m.complete + m.error));
  const bar = CHART_WIDTH / Math.max(minutes.length, 1);
  const y = (n: number) => (n / most) * CHART_HEIGHT;
  const complete = minutes.reduce((sum, m) => sum + m.complete, 0);
  const error = minutes.reduce((sum, m) => sum + m.error, 0);
  return (
    <figure class="finishes">
      <svg
        viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT + 18}`}
        width={CHART_WIDTH}
        height={CHART_HEIGHT + 18}
        role="img"
        aria-label={`${complete} tasks completed and ${error} failed in the last hour`}
      >
        {minutes.map((m, i) => (
          <g key={m.minute}>
            <rect
              class="bar-complete"
              x={i * bar + 1}
              y={CHART_HEIGHT - y(m.complete)}
              width={bar - 2}
              height={y(m.complete)}
            />
            <rect
              class="bar-error"
              x={i * bar + 1}
              y={CHART_HEIGHT - y(m.complete) - y(m.error)}
              width={bar - 2}
              height={y(m.error)}
            />
            <title>
              {formatTime(m.minute)}: {m.complete} completed, {m.error} failed
            </title>
          </g>
        ))}
        <text x="0" y={CHART_HEIGHT + 14} class="wf-axis">
          60 min ago
        </text>
        <text x={CHART_WIDTH} y={CHART_HEIGHT + 14} class="wf-axis" text-anchor="end">
          now (peak {most}/min)
        </text>
      </svg>
      <figcaption class="legend">
        <span class="key bar-complete" /> completed:{' '}
        <strong data-testid="completed">{complete}</strong> <span class="key bar-error" /> failed:{' '}
        <strong data-testid="failed">{error}</strong>
      </figcaption>
    </figure>
  );
}
