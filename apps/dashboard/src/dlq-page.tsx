import { useState } from 'preact/hooks';
import { dlqApi, type DlqEntryView } from './api';
import { ConfirmAction } from './confirm-action';
import { formatDuration, formatTime, json, PollProblem, StatusBadge } from './format';
import { Pager } from './pager';
import { usePoll } from './use-poll';

const STATUSES = ['pending', 'manually_resolved', 'permanently_failed', 'cancelled'];

/**
 * Tasks staleness detection gave up on: newest first, by resolution status. An entry opens
 * with its snapshot (the task and steps as they were); resolving records the decision. The
 * task itself moves through the step actions on its own page.
 */
export function DlqPage() {
  const [status, setStatus] = useState('pending');
  const [cursors, setCursors] = useState<string[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [resolving, setResolving] = useState<DlqEntryView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const page = usePoll(
    () => dlqApi.list({ status: status || undefined, cursor: cursors.at(-1) }, 25),
    5000,
    [status, cursors],
  );
  const detail = usePoll(async () => (open ? dlqApi.get(open) : undefined), 5000, [open]);

  return (
    <section aria-labelledby="dlq-title">
      <h1 id="dlq-title">Dead-letter queue</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Resolution
          <select
            name="status"
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value);
              setCursors([]);
            }}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
      </form>
      <div aria-live="polite">{notice && <p class="ok">{notice}</p>}</div>
      <PollProblem page={page} />
      {page.data && (
        <table class="dlq">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Why</th>
              <th scope="col">Stuck for</th>
              <th scope="col">Task now</th>
              <th scope="col">Resolution</th>
              <th scope="col">Entered</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.length === 0 && (
              <tr>
                <td colSpan={7}>No entries.</td>
              </tr>
            )}
            {page.data.items.map((entry) => (
              <tr key={entry.dlqEntryUuid} data-entry={entry.dlqEntryUuid}>
                <td>
                  <a href={`/ui/tasks/${entry.taskUuid}`}>
                    {entry.namespace}/{entry.name}
                  </a>
                </td>
                <td>
                  {entry.reason.replace(/_/g, ' ')} (was {entry.originalState.replace(/_/g, ' ')})
                </td>
                <td>{formatDuration(entry.stuckForSeconds * 1000)}</td>
                <td>
                  <StatusBadge status={entry.taskStatus} />
                </td>
                <td>
                  {entry.resolutionStatus.replace(/_/g, ' ')}
                  {entry.resolvedBy && <div class="muted">by {entry.resolvedBy}</div>}
                </td>
                <td>{formatTime(entry.createdAt)}</td>
                <td>
                  <div class="buttons">
                    <button
                      type="button"
                      class="quiet"
                      aria-expanded={open === entry.dlqEntryUuid}
                      onClick={() =>
                        setOpen(open === entry.dlqEntryUuid ? null : entry.dlqEntryUuid)
                      }
                    >
                      Snapshot
                    </button>
                    <button type="button" onClick={() => setResolving(entry)}>
                      Resolve
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.data && (
        <Pager cursors={cursors} nextCursor={page.data.nextCursor} onChange={setCursors} />
      )}
      {open && detail.data?.dlqEntryUuid === open && (
        <section class="card" aria-labelledby="snapshot-title">
          <h2 id="snapshot-title">
            Snapshot of {detail.data.namespace}/{detail.data.name}
          </h2>
          {detail.data.resolutionNotes && <p>Notes: {detail.data.resolutionNotes}</p>}
          <pre data-testid="dlq-snapshot">{json(detail.data.snapshot)}</pre>
        </section>
      )}
      {resolving && (
        <ConfirmAction
          title={`Resolve the entry for ${resolving.namespace}/${resolving.name}`}
          explanation="Records what was decided about this stuck task. To move the task itself, use the step actions on its page."
          confirmLabel="Record decision"
          reasonLabel="Notes"
          choices={{
            label: 'Decision',
            options: STATUSES.filter((s) => s !== 'pending')
              .concat('pending')
              .map((s) => ({ value: s, label: s.replace(/_/g, ' ') })),
          }}
          run={async (input) => {
            const after = await dlqApi.resolve(resolving.dlqEntryUuid, {
              resolutionStatus: input.choice ?? 'manually_resolved',
              resolutionNotes: input.reason,
              resolvedBy: input.operator,
            });
            return `Entry for ${after.namespace}/${after.name} recorded as ${after.resolutionStatus.replace(/_/g, ' ')}.`;
          }}
          onDone={(message) => {
            setResolving(null);
            setNotice(message);
            page.refresh();
            detail.refresh();
          }}
          onCancel={() => setResolving(null)}
        />
      )}
    </section>
  );
}
