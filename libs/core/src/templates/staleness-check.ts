import type { StalenessThresholds, TaskTemplate } from './task-template.js';

/** A step runs while its task is in one of these states; each has a staleness threshold. */
const RUNNING_TASK_THRESHOLDS = [
  {
    key: 'stepsInProcessMinutes',
    templateKey: 'steps_in_process_minutes',
    coreKey: 'max_steps_in_process_minutes',
    variable: 'TASKER_STALE_STEPS_IN_PROCESS_MINUTES',
  },
  {
    key: 'waitingForDependenciesMinutes',
    templateKey: 'waiting_for_dependencies_minutes',
    coreKey: 'max_waiting_for_dependencies_minutes',
    variable: 'TASKER_STALE_WAITING_FOR_DEPENDENCIES_MINUTES',
  },
] as const satisfies readonly {
  key: keyof StalenessThresholds;
  templateKey: string;
  /** The same threshold in a Tasker Core template's `lifecycle`. */
  coreKey: string;
  variable: string;
}[];

/**
 * Steps whose timeout is longer than the task may stay in a state without a transition: a run
 * that long, legitimate as it is, would have staleness give up on the task while it may still
 * run. The threshold is the template's override, else `defaults` (orchestration's TASKER_STALE_*);
 * without `defaults`, only the template's own overrides are checked. Each problem names the
 * step, its timeout and the threshold with where it comes from.
 */
export function findStalenessProblems(
  template: Pick<TaskTemplate, 'steps' | 'staleness' | 'format'>,
  defaults?: Required<StalenessThresholds>,
): string[] {
  const core = template.format === 'tasker_core';
  const thresholds = RUNNING_TASK_THRESHOLDS.flatMap(({ key, templateKey, coreKey, variable }) => {
    const own = template.staleness?.[key];
    const from = core ? `lifecycle.${coreKey}` : `staleness.${templateKey}`;
    if (own !== undefined) return [{ minutes: own, from }];
    return defaults ? [{ minutes: defaults[key], from: variable }] : [];
  });
  if (thresholds.length === 0) return [];
  const lowest = thresholds.reduce((a, b) => (b.minutes < a.minutes ? b : a));
  return template.steps
    .filter((step) => step.timeoutSeconds > lowest.minutes * 60)
    .map(
      (step) =>
        `step "${step.name}": timeout_seconds ${step.timeoutSeconds} is longer than the staleness threshold of ${lowest.minutes} minutes (${lowest.from}): the task would be given up while the step may still run; lower the timeout or raise the threshold`,
    );
}
