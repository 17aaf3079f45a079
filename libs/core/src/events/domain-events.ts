import type { DomainEvent } from '#contracts';
import type {
  EventCondition,
  EventDeclaration,
  StepTemplate,
  TaskTemplate,
} from '../templates/task-template.js';

/** What settling a step's result did (settleSteps): nothing (seen before), or its new state. */
export type StepSettlement = 'none' | 'complete' | 'retry' | 'error';

export type EventOutcome = DomainEvent['outcome'];

/** The conditions each outcome meets (Tasker Core's `publishes_events[].condition`). */
const CONDITIONS_MET: Record<EventOutcome, readonly EventCondition[]> = {
  success: ['success', 'always'],
  retryable_failure: ['failure', 'retryable_failure', 'always'],
  permanent_failure: ['failure', 'permanent_failure', 'always'],
};

/** Whether a declaration's condition holds for `outcome`. */
export function conditionMet(condition: EventCondition, outcome: EventOutcome): boolean {
  return CONDITIONS_MET[outcome].includes(condition);
}

/** The event outcome of a settlement; null when nothing was settled. */
export function eventOutcomeOf(settlement: StepSettlement): EventOutcome | null {
  switch (settlement) {
    case 'complete':
      return 'success';
    case 'retry':
      return 'retryable_failure';
    case 'error':
      return 'permanent_failure';
    case 'none':
      return null;
  }
}

/**
 * The template step a task's step was made from: the step of that name, or for a batch worker
 * (`<worker template>_<batch id>`) its worker template.
 */
export function templateStepOf(template: TaskTemplate, stepName: string): StepTemplate | undefined {
  return (
    template.steps.find((s) => s.name === stepName) ??
    template.steps.find((s) => s.kind === 'batch_worker' && stepName.startsWith(`${s.name}_`))
  );
}

/** The declarations `step` publishes on `outcome` that go through the broker (not `fast` only). */
export function durableEventsFor(
  step: StepTemplate | undefined,
  outcome: EventOutcome,
): EventDeclaration[] {
  return (step?.publishesEvents ?? []).filter(
    (e) => e.delivery !== 'fast' && conditionMet(e.condition, outcome),
  );
}

/** Whether any step of the template publishes through the broker. */
export function publishesDurableEvents(template: TaskTemplate): boolean {
  return template.steps.some((s) => s.publishesEvents?.some((e) => e.delivery !== 'fast'));
}

/**
 * A success event's payload: the one the handler chose for it (withEventPayloads), else the
 * step's result.
 */
export function payloadOf(
  event: string,
  result: unknown,
  chosen: Readonly<Record<string, unknown>> | undefined,
): unknown {
  return chosen && Object.hasOwn(chosen, event) ? chosen[event] : (result ?? null);
}
