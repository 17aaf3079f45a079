import { useState } from 'preact/hooks';
import { ApiError, tasksApi } from './api';
import { ConfirmAction } from './confirm-action';
import { collapseSteps } from './collapse';
import { Dag } from './dag';
import { formatTime, isTerminalTask, StatusBadge } from './format';
import { ACTION_LABELS, type StepAction, StepPanel } from './step-panel';
import { usePoll } from './use-poll';
import { Waterfall } from './waterfall';

const LIVE_MS = 1000;
const IDLE_MS = 5000;

type Pending = { kind: 'step'; action: StepAction; stepUuid: string } | { kind: 'cancel' };

const EXPLANATIONS: Record<StepAction, string> = {
  reset_for_retry: 'The step runs again with a fresh retry budget; the task is reopened.',
  resolve_manually: 'The step counts as done without a result; its dependents run.',
  complete_manually: 'The step completes with this result; its dependents receive it.',
};

/**
 * One task: its graph coloured by step state, the timeline, the selected step's panel and the
 * operator actions. It polls every second while the task runs and every few seconds after.
 */
export function TaskPage({ taskUuid }: { taskUuid: string }) {
  const [selected, setSelected] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [running, setRunning] = useState(true);
  const interval = running ? LIVE_MS : IDLE_MS;

  const task = usePoll(
    async () => {
      const view = await tasksApi.get(taskUuid);
      setRunning(!isTerminalTask(view.status));
      return view;
    },
    interval,
    [taskUuid],
  );
  const timeline = usePoll(() => tasksApi.transitions(taskUuid), interval, [taskUuid]);
  const detail = usePoll(
    async () => (selected ? tasksApi.step(taskUuid, selected) : undefined),
    interval,
    [taskUuid, selected],
  );

  const view = task.data;
  if (task.error && !view) {
    return (
      <p role="alert" class="error">
        {task.error instanceof ApiError ? task.error.describe() : task.error.message}
      </p>
    );
  }
  if (!view) return <p role="status">Loading…</p>;
  const step = view.steps.find((s) => s.stepUuid === selected);
  const nodes = collapseSteps(view.steps);
  const folded = nodes.find((n) => n.members?.some((m) => m.id === selected));
  const refreshAll = () => {
    task.refresh();
    timeline.refresh();
    detail.refresh();
  };

  return (
    <article aria-labelledby="task-title">
      <p>
        <a href="/ui/tasks">← Tasks</a>
      </p>
      <h1 id="task-title">
        {view.namespace}/{view.name} <span class="muted">{view.version}</span>{' '}
        <StatusBadge status={view.status} />
      </h1>
      <dl class="facts">
        <dt>Task UUID</dt>
        <dd class="mono">{view.taskUuid}</dd>
        <dt>Correlation id</dt>
        <dd class="mono">{view.correlationId}</dd>
        <dt>Requested</dt>
        <dd>{formatTime(view.requestedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(view.completedAt)}</dd>
        <dt>Progress</dt>
        <dd>
          {view.completionPercentage}% of {view.totalSteps} steps
        </dd>
        {view.reason && (
          <>
            <dt>Reason</dt>
            <dd>{view.reason}</dd>
          </>
        )}
      </dl>
      {!isTerminalTask(view.status) && (
        <div class="buttons">
          <button type="button" class="danger" onClick={() => setPending({ kind: 'cancel' })}>
            Cancel task
          </button>
        </div>
      )}
      <div aria-live="polite">
        {notice && (
          <p
            class={notice.startsWith('Refused') || notice.startsWith('Failed') ? 'error' : 'ok'}
            role="status"
          >
            {notice}
          </p>
        )}
      </div>
      {task.error && (
        <p role="alert" class="error">
          Refreshing failed: {task.error.message}
        </p>
      )}
      <h2>Graph</h2>
      <div class="scroll">
        <Dag steps={nodes} selected={selected} onSelect={setSelected} />
      </div>
      <h2>Timeline</h2>
      <div class="scroll">
        {timeline.data ? (
          <Waterfall
            steps={view.steps}
            transitions={timeline.data.items}
            requestedAt={view.requestedAt}
            finishedAt={view.completedAt}
          />
        ) : (
          <p role="status">Loading…</p>
        )}
      </div>
      {folded?.members && (
        <label class="member-pick">
          Step of {folded.name} ({folded.members.length})
          <select
            name="member"
            value={selected ?? ''}
            onChange={(e) => setSelected(e.currentTarget.value)}
          >
            {folded.members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}: {m.state.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
      )}
      {step ? (
        <StepPanel
          task={view}
          step={step}
          detail={detail.data?.stepUuid === step.stepUuid ? detail.data : undefined}
          onAction={(action) => setPending({ kind: 'step', action, stepUuid: step.stepUuid })}
        />
      ) : (
        <p class="muted">Select a step in the graph to see its attempts, data and history.</p>
      )}
      {pending?.kind === 'step' && (
        <ConfirmAction
          title={`${ACTION_LABELS[pending.action]}: ${view.steps.find((s) => s.stepUuid === pending.stepUuid)?.name ?? ''}`}
          explanation={EXPLANATIONS[pending.action]}
          confirmLabel={ACTION_LABELS[pending.action]}
          withResult={pending.action === 'complete_manually'}
          run={async (input) => {
            const after = await tasksApi.act(taskUuid, pending.stepUuid, {
              action: pending.action,
              ...input,
            });
            return `${ACTION_LABELS[pending.action]}: step ${after.name} is now ${after.state.replace(/_/g, ' ')}.`;
          }}
          onDone={(message) => {
            setPending(null);
            setNotice(message);
            refreshAll();
          }}
          onCancel={() => setPending(null)}
        />
      )}
      {pending?.kind === 'cancel' && (
        <ConfirmAction
          title="Cancel this task"
          explanation="Steps not yet finished are cancelled; a running handler's late result is ignored."
          confirmLabel="Cancel task"
          withOperator={false}
          run={async (input) => {
            const { cancelledSteps } = await tasksApi.cancel(taskUuid, input.reason);
            return `Task cancelled (${cancelledSteps} steps cancelled).`;
          }}
          onDone={(message) => {
            setPending(null);
            setNotice(message);
            refreshAll();
          }}
          onCancel={() => setPending(null)}
        />
      )}
    </article>
  );
}
