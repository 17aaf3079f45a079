import type { StepDetailView, StepView, TaskView } from './api';
import { formatDuration, formatTime, json, StatusBadge } from './format';

export type StepAction = 'reset_for_retry' | 'resolve_manually' | 'complete_manually';

const FINISHED_WELL = ['complete', 'resolved_manually'];

/** The actions the API would accept for this step (it still decides, and says 409 if not). */
export function actionsFor(task: TaskView, step: StepView): StepAction[] {
  if (task.status === 'complete' || task.status === 'cancelled') return [];
  const actions: StepAction[] = [];
  if (step.state === 'error') actions.push('reset_for_retry');
  if (!FINISHED_WELL.includes(step.state)) actions.push('resolve_manually', 'complete_manually');
  return actions;
}

export const ACTION_LABELS: Record<StepAction, string> = {
  reset_for_retry: 'Reset for retry',
  resolve_manually: 'Resolve',
  complete_manually: 'Complete with result',
};

/**
 * One step: state, attempts and timings, what it received (the task context and its parents'
 * results), its result or error, and every transition with who made it and why.
 */
export function StepPanel({
  task,
  step,
  detail,
  onAction,
}: {
  task: TaskView;
  step: StepView;
  detail: StepDetailView | undefined;
  onAction: (action: StepAction) => void;
}) {
  const parents = task.steps.filter((s) => step.dependsOn.includes(s.name));
  const actions = actionsFor(task, step);
  const transitions = detail?.transitions ?? [];
  return (
    <section class="card step-panel" aria-labelledby="step-title" data-step-panel={step.name}>
      <h2 id="step-title">
        Step {step.name} <StatusBadge status={step.state} />
      </h2>
      <dl class="facts">
        <dt>Handler</dt>
        <dd class="mono">{step.handler}</dd>
        {step.kind !== 'standard' && (
          <>
            <dt>Type</dt>
            <dd data-testid="step-kind">
              {step.kind}
              {step.template !== step.name && ` (made from ${step.template})`}
            </dd>
          </>
        )}
        {step.createdSteps && (
          <>
            <dt>{step.kind === 'decision' ? 'Branches taken' : 'Workers made'}</dt>
            <dd class="mono" data-testid="step-created">
              {step.createdSteps.length > 0
                ? step.createdSteps.join(', ')
                : step.state === 'complete' || step.state === 'resolved_manually'
                  ? 'none'
                  : 'none yet'}
            </dd>
          </>
        )}
        <dt>Attempts</dt>
        <dd>
          {step.attempts} of {step.maxAttempts}
          {step.retryable ? '' : ' (not retryable)'}
        </dd>
        <dt>Last attempt</dt>
        <dd>{formatTime(step.lastAttemptedAt)}</dd>
        <dt>Next retry</dt>
        <dd>{formatTime(step.nextRetryAt)}</dd>
        <dt>Step UUID</dt>
        <dd class="mono">{step.stepUuid}</dd>
      </dl>
      {actions.length > 0 && (
        <div class="buttons" role="group" aria-label="Operator actions">
          {actions.map((action) => (
            <button key={action} type="button" onClick={() => onAction(action)}>
              {ACTION_LABELS[action]}
            </button>
          ))}
        </div>
      )}
      {step.error && (
        <>
          <h3>Error</h3>
          <pre class="error-block" data-testid="step-error">
            {json(step.error)}
          </pre>
        </>
      )}
      {step.result !== null && step.result !== undefined && (
        <>
          <h3>Result</h3>
          <pre>{json(step.result)}</pre>
        </>
      )}
      <h3>Inputs</h3>
      <details open={parents.length === 0}>
        <summary>Task context</summary>
        <pre>{json(task.context)}</pre>
      </details>
      {parents.map((parent) => (
        <details key={parent.stepUuid} open>
          <summary>Result of {parent.name}</summary>
          <pre>{json(parent.result)}</pre>
        </details>
      ))}
      <h3>History</h3>
      {!detail && <p role="status">Loading…</p>}
      {detail && (
        <table class="history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">State</th>
              <th scope="col">After</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {transitions.map((t, i) => {
              const previous = transitions[i - 1];
              return (
                <tr key={i}>
                  <td>{formatTime(t.createdAt)}</td>
                  <td>
                    {t.fromState ? `${t.fromState} → ` : ''}
                    <strong>{t.toState}</strong>
                  </td>
                  <td>
                    {previous
                      ? formatDuration(Date.parse(t.createdAt) - Date.parse(previous.createdAt))
                      : ''}
                  </td>
                  <td class="mono small">
                    {Object.keys(t.metadata).length > 0 ? JSON.stringify(t.metadata) : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
