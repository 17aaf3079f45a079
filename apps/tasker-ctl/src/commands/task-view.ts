import type { StepView, TaskView } from '#core';
import { formatFields, formatTable, oneLine } from '../output.js';
import { inDagOrder } from './template-graph.js';

/**
 * What the table shows for a step's outcome: its result once it finished well (a step completed
 * by hand keeps its last error), else its error message, else its result.
 */
export function stepOutcome(step: StepView): string {
  const finished = step.state === 'complete' || step.state === 'resolved_manually';
  const message = step.error?.message;
  if (step.error && !finished) {
    return `error: ${typeof message === 'string' ? message : oneLine(step.error)}`;
  }
  return oneLine(step.result);
}

export function completedSteps(task: TaskView): number {
  return (task.stepCounts.complete ?? 0) + (task.stepCounts.resolved_manually ?? 0);
}

export function formatSteps(steps: readonly StepView[]): string {
  return formatTable(
    ['step', 'state', 'attempts', 'handler', 'after', 'result'],
    inDagOrder(steps).map((s) => [
      s.name,
      s.state,
      `${s.attempts}/${s.maxAttempts}`,
      s.handler,
      s.dependsOn.length > 0 ? s.dependsOn.join(', ') : '-',
      stepOutcome(s),
    ]),
  );
}

/** `task get` as a table: the task's fields, then its steps. */
export function formatTask(task: TaskView): string {
  const fields: [string, string][] = [
    ['Task', task.taskUuid],
    ['Template', `${task.namespace}/${task.name}@${task.version}`],
    ['Status', task.status],
    [
      'Progress',
      `${task.completionPercentage}% (${completedSteps(task)}/${task.totalSteps} steps)`,
    ],
    ['Context', oneLine(task.context, 100)],
    ['Priority', String(task.priority)],
    ['Correlation', task.correlationId],
    ['Requested', task.requestedAt],
    ['Completed', task.completedAt ?? '-'],
  ];
  if (task.tags.length > 0) fields.push(['Tags', task.tags.join(', ')]);
  if (task.initiator) fields.push(['Initiator', task.initiator]);
  if (task.sourceSystem) fields.push(['Source', task.sourceSystem]);
  if (task.reason) fields.push(['Reason', task.reason]);
  return `${formatFields(fields)}\n\n${formatSteps(task.steps)}`;
}
