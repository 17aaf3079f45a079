import { useState } from 'preact/hooks';
import { limitsApi } from './api';
import { formatDuration, formatTime, PollProblem } from './format';
import { usePoll } from './use-poll';

/** Keys asked for (the API's default); a list this long may have left quieter keys out. */
const MAX_KEYS = 100;
const REFRESH_MS = 3000;

/**
 * The keys of the concurrency and rate limits that hold slots or have steps waiting, busiest
 * first, from GET /v1/concurrency; the filter takes a limit's whole name, as the API does.
 */
export function LimitsPage() {
  const [limit, setLimit] = useState('');
  const name = limit.trim();
  const page = usePoll(() => limitsApi.keys({ limit: name || undefined }, MAX_KEYS), REFRESH_MS, [
    name,
  ]);

  return (
    <section aria-labelledby="limits-title">
      <h1 id="limits-title">Limits</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Limit name
          <input
            type="search"
            name="limit"
            value={limit}
            onInput={(e) => setLimit(e.currentTarget.value)}
          />
        </label>
      </form>
      <PollProblem page={page} loading />
      {page.data && (
        <table class="limits">
          <thead>
            <tr>
              <th scope="col">Limit</th>
              <th scope="col">Level</th>
              <th scope="col">Key</th>
              <th scope="col">Running</th>
              <th scope="col">Waiting</th>
              <th scope="col">Longest wait</th>
              <th scope="col">Rate</th>
              <th scope="col">Next start</th>
              <th scope="col">Strategy</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.length === 0 && (
              <tr>
                <td colSpan={9}>
                  {name
                    ? `No key of the limit ${name} has slots held or steps waiting.`
                    : 'No limit has slots held or steps waiting.'}
                </td>
              </tr>
            )}
            {page.data.items.map((k) => (
              <tr key={`${k.limit}\n${k.key}`} data-limit={k.limit} data-key={k.key}>
                <td>{k.limit}</td>
                <td>{k.level}</td>
                <td class="mono">{k.key}</td>
                <td>
                  {k.running} / {k.maxRunning ?? '∞'}
                </td>
                <td>{k.waiting}</td>
                <td>{k.oldestWaitingSince ? age(k.oldestWaitingSince) : '—'}</td>
                <td>
                  {k.rateLimit !== null && k.ratePeriodMs !== null
                    ? `${k.rateLimit} per ${formatPeriod(k.ratePeriodMs)}`
                    : '—'}
                </td>
                <td>{formatTime(k.nextStartAt)}</td>
                <td>{k.strategy.replace(/_/g, ' ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.data?.items.length === MAX_KEYS && (
        <p class="muted">
          The {MAX_KEYS} busiest keys; filter by a limit's name to see the rest of its keys.
        </p>
      )}
    </section>
  );
}

/** A rate's window as a template declares it (per_seconds), whole minutes and hours as such. */
function formatPeriod(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

/** Time since `iso`; never negative when the browser's clock runs behind the database's. */
function age(iso: string): string {
  return formatDuration(Math.max(0, Date.now() - Date.parse(iso)));
}
