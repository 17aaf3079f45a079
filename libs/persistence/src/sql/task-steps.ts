import { v7 as uuidv7 } from 'uuid';
import type { PlannedStep, PlannedSteps, StepState, TaskTemplate } from '#core';
import { kindOf, TaskNotFoundError } from '#core';
import type { Queryable } from '../database.js';

/**
 * The statements a task's growing workflow needs (decision outcomes): read what the task has,
 * add steps. Not on the path of a plain step; only a completing decision step runs them.
 */

/** The template the task was created from, as registered now (named_tasks.configuration). */
export async function readTaskTemplate(q: Queryable, taskUuid: string): Promise<TaskTemplate> {
  const { rows } = await q.query<{ configuration: TaskTemplate }>(
    `SELECT nt.configuration
       FROM tasker.tasks t
       JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
      WHERE t.task_uuid = $1`,
    [taskUuid],
  );
  if (!rows[0]) throw new TaskNotFoundError(taskUuid);
  return rows[0].configuration;
}

/**
 * The task's steps by name, with their current states and the template step each was made
 * from (a batch worker's named step is its template's).
 */
export async function readTaskSteps(
  q: Queryable,
  taskUuid: string,
): Promise<Map<string, { stepUuid: string; state: StepState; template: string }>> {
  const { rows } = await q.query<{
    name: string;
    stepUuid: string;
    state: StepState;
    template: string;
  }>(
    `SELECT s.name, s.workflow_step_uuid AS "stepUuid", st.to_state AS state,
            coalesce(ns.name, s.name) AS template
       FROM tasker.workflow_steps s
       JOIN tasker.workflow_step_transitions st
         ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
       LEFT JOIN tasker.named_steps ns ON ns.named_step_uuid = s.named_step_uuid
      WHERE s.task_uuid = $1`,
    [taskUuid],
  );
  return new Map(rows.map(({ name, ...step }) => [name, step]));
}

/** The results the steps' handlers returned, by step uuid (steps without one are left out). */
export async function readStepResults(
  q: Queryable,
  stepUuids: readonly string[],
): Promise<Map<string, unknown>> {
  const { rows } = await q.query<{ stepUuid: string; results: unknown }>(
    `SELECT workflow_step_uuid AS "stepUuid", results
       FROM tasker.workflow_steps
      WHERE workflow_step_uuid = ANY ($1::uuid[]) AND results IS NOT NULL`,
    [stepUuids],
  );
  return new Map(rows.map((r) => [r.stepUuid, r.results]));
}

/** The event payloads the steps' handlers chose (withEventPayloads), for the steps that did. */
export async function readStepEventPayloads(
  q: Queryable,
  stepUuids: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (stepUuids.length === 0) return new Map();
  const { rows } = await q.query<{ stepUuid: string; payloads: Record<string, unknown> }>(
    `SELECT workflow_step_uuid AS "stepUuid", event_payloads AS payloads
       FROM tasker.workflow_steps
      WHERE workflow_step_uuid = ANY ($1::uuid[]) AND event_payloads IS NOT NULL`,
    [stepUuids],
  );
  return new Map(rows.map((r) => [r.stepUuid, r.payloads]));
}

/** Orchestration failed the step (not its handler): the reason becomes its last error. */
export async function recordStepError(
  q: Queryable,
  stepUuid: string,
  message: string,
  errorClass: string,
): Promise<void> {
  await q.query(
    `UPDATE tasker.workflow_steps
        SET last_error = jsonb_build_object('message', $2::text, 'errorClass', $3::text,
                                            'permanent', true, 'backoffHintMs', null,
                                            'timedOut', false),
            updated_at = now()
      WHERE workflow_step_uuid = $1`,
    [stepUuid, message, errorClass],
  );
}

/** A planned step about to become a row, with the uuid chosen for it. */
export interface NewStep {
  step: PlannedStep;
  uuid: string;
}

/**
 * The parameters that describe new step rows, in the order of STEP_INPUT (one array each);
 * `root` marks the steps that start `enqueued`.
 */
export function newStepArrays(steps: readonly NewStep[], root: (step: PlannedStep) => boolean) {
  return [
    steps.map(({ uuid }) => uuid),
    steps.map(({ step }) => step.name),
    steps.map(({ step }) => step.template),
    steps.map(({ step }) => step.handler),
    steps.map(({ step }) => step.retryable),
    steps.map(({ step }) => step.retry.maxAttempts),
    steps.map(({ step }) => step.timeoutSeconds),
    steps.map(({ step }) => JSON.stringify(step.retry)),
    steps.map(({ step }) => JSON.stringify(step.inputs)),
    steps.map(({ step }) => kindOf(step)),
    steps.map(({ step }) => root(step)),
  ];
}

/**
 * `unnest` of newStepArrays' parameters from `$first` on, as rows of new steps. Shared by the
 * statements that create steps: with the task (insertTaskGraph) and while it runs (insertSteps).
 */
export function stepInput(first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[],
                 ${p(4)}::boolean[], ${p(5)}::int[], ${p(6)}::int[], ${p(7)}::jsonb[],
                 ${p(8)}::jsonb[], ${p(9)}::text[], ${p(10)}::boolean[])
          AS s(uuid, name, template, handler, retryable, max_attempts, timeout_seconds,
               retry_policy, inputs, kind, root)`;
}

/**
 * Inserts the new steps of `input` (a CTE over stepInput with the columns task_uuid and
 * named_task_uuid) into their task.
 */
export const INSERT_STEPS = `INSERT INTO tasker.workflow_steps
         (workflow_step_uuid, task_uuid, named_step_uuid, name, handler, retryable, max_attempts,
          timeout_seconds, retry_policy, inputs, kind, announced_at)
       SELECT i.uuid, i.task_uuid, ns.named_step_uuid, i.name, i.handler, i.retryable,
              i.max_attempts, i.timeout_seconds, i.retry_policy, i.inputs, i.kind,
              CASE WHEN i.root THEN clock_timestamp() END
         FROM input i
         LEFT JOIN tasker.named_steps ns
           ON ns.named_task_uuid = i.named_task_uuid AND ns.name = i.template`;

/**
 * Adds planned steps to a running task (each `pending`, its first transition written) and
 * their edges, in one statement; an edge's parent is a new step or one the task has. The unit
 * of work holds the task's lock, and enqueues whichever of them are ready afterwards.
 */
export async function insertSteps(
  q: Queryable,
  taskUuid: string,
  planned: PlannedSteps,
  processorUuid: string | null,
): Promise<void> {
  const steps = planned.steps.map((step) => ({ step, uuid: uuidv7() }));
  await q.query(
    `WITH input AS (
       SELECT s.*, t.task_uuid, t.named_task_uuid
         FROM tasker.tasks t, ${stepInput(2)}
        WHERE t.task_uuid = $1
     ),
     steps AS (${INSERT_STEPS}),
     names AS (
       SELECT name, uuid FROM input
       UNION ALL
       SELECT name, workflow_step_uuid FROM tasker.workflow_steps WHERE task_uuid = $1
     ),
     edges AS (
       INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid)
       SELECT p.uuid, c.uuid
         FROM unnest($13::text[], $14::text[]) AS e(parent, child)
         JOIN names p ON p.name = e.parent
         JOIN input c ON c.name = e.child
     )
     INSERT INTO tasker.workflow_step_transitions
       (workflow_step_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
     SELECT uuid, NULL, 'pending', 1, true, $15 FROM input`,
    [
      taskUuid,
      ...newStepArrays(steps, () => false),
      planned.edges.map(([parent]) => parent),
      planned.edges.map(([, child]) => child),
      processorUuid,
    ],
  );
}
