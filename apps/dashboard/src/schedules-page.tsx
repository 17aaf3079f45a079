import { useState } from 'preact/hooks';
import { schedulesApi, type ScheduleView } from './api';
import { ConfirmAction } from './confirm-action';
import { formatTime, PollProblem, StatusBadge } from './format';
import { Pager } from './pager';
import { usePoll } from './use-poll';

type Pending = { schedule: ScheduleView; action: 'pause' | 'resume' | 'run-now' };

const TITLES = { pause: 'Pause', resume: 'Resume', 'run-now': 'Run now' } as const;
const EXPLANATIONS = {
  pause: 'No fire happens while the schedule is paused.',
  resume: 'Fires resume from now; fires missed while paused are not run.',
  'run-now': 'Creates a task now, whatever the timing, pause or overlap policy.',
} as const;

/** Schedules with their next fires, pause/resume, run now, and each one's recent runs. */
export function SchedulesPage() {
  const [cursors, setCursors] = useState<string[]>([]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [runsOf, setRunsOf] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const page = usePoll(() => schedulesApi.list({ cursor: cursors.at(-1) }, 25), 5000, [cursors]);
  const runs = usePoll(async () => (runsOf ? schedulesApi.runs(runsOf) : undefined), 5000, [
    runsOf,
  ]);

  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      <div aria-live="polite">{notice && <p class="ok">{notice}</p>}</div>
      <PollProblem page={page} />
      {page.data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Template</th>
              <th scope="col">When</th>
              <th scope="col">Next fires</th>
              <th scope="col">Last fire</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.length === 0 && (
              <tr>
                <td colSpan={5}>No schedules.</td>
              </tr>
            )}
            {page.data.items.map((s) => (
              <tr key={s.scheduleUuid} data-schedule={s.scheduleUuid}>
                <td>
                  {s.namespace}/{s.name} {s.version && <span class="muted">{s.version}</span>}
                  {s.description && <div class="muted">{s.description}</div>}
                </td>
                <td>
                  <span class="mono">{s.expression}</span> <span class="muted">{s.timezone}</span>
                  <div>{s.enabled ? 'active' : <strong>paused</strong>}</div>
                </td>
                <td>
                  {s.upcomingFires.length === 0 && <span class="muted">none</span>}
                  <ol class="fires">
                    {s.upcomingFires.slice(0, 3).map((fire) => (
                      <li key={fire}>{formatTime(fire)}</li>
                    ))}
                  </ol>
                </td>
                <td>
                  {formatTime(s.lastFireAt)}
                  {s.lastTaskUuid && (
                    <div>
                      <a href={`/ui/tasks/${s.lastTaskUuid}`}>its task</a>
                    </div>
                  )}
                </td>
                <td>
                  <div class="buttons">
                    <button
                      type="button"
                      onClick={() =>
                        setPending({ schedule: s, action: s.enabled ? 'pause' : 'resume' })
                      }
                    >
                      {s.enabled ? 'Pause' : 'Resume'}
                    </button>
                    <button
                      type="button"
                      onClick={() => setPending({ schedule: s, action: 'run-now' })}
                    >
                      Run now
                    </button>
                    <button
                      type="button"
                      class="quiet"
                      aria-expanded={runsOf === s.scheduleUuid}
                      onClick={() => setRunsOf(runsOf === s.scheduleUuid ? null : s.scheduleUuid)}
                    >
                      Runs
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
      {runsOf && runs.data && (
        <section class="card" aria-labelledby="runs-title">
          <h2 id="runs-title">Recent runs</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Fire time</th>
                <th scope="col">Trigger</th>
                <th scope="col">Outcome</th>
                <th scope="col">Task</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.length === 0 && (
                <tr>
                  <td colSpan={4}>No runs yet.</td>
                </tr>
              )}
              {runs.data.items.map((run) => (
                <tr key={run.scheduleRunUuid}>
                  <td>{formatTime(run.fireAt)}</td>
                  <td>{run.trigger}</td>
                  <td>
                    {run.outcome.replace(/_/g, ' ')}
                    {run.detail && <div class="muted">{run.detail}</div>}
                  </td>
                  <td>
                    {run.taskUuid && (
                      <a href={`/ui/tasks/${run.taskUuid}`}>
                        {run.taskStatus ? <StatusBadge status={run.taskStatus} /> : 'task'}
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {pending && (
        <ConfirmAction
          title={`${TITLES[pending.action]}: ${pending.schedule.namespace}/${pending.schedule.name}`}
          explanation={EXPLANATIONS[pending.action]}
          confirmLabel={TITLES[pending.action]}
          withOperator={false}
          withReason={false}
          run={async () => {
            const { schedule, action } = pending;
            if (action === 'run-now') {
              const { taskUuid } = await schedulesApi.runNow(schedule.scheduleUuid);
              return `Ran ${schedule.namespace}/${schedule.name} now: task ${taskUuid}.`;
            }
            const after = await schedulesApi.setEnabled(schedule.scheduleUuid, action === 'resume');
            return `${schedule.namespace}/${schedule.name} is ${after.enabled ? 'active' : 'paused'}.`;
          }}
          onDone={(message) => {
            setPending(null);
            setNotice(message);
            page.refresh();
            runs.refresh();
          }}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}
