import { v7 as uuidv7 } from 'uuid';
import type { EnqueuedStep, TaskSlots, TaskTemplate } from '#core';
import {
  DuplicateTaskError,
  initialSteps,
  PRIORITY_POINT_MS,
  TaskerError,
  templateKey,
} from '#core';
import type { Queryable } from '../database.js';
import type { InStatementSend } from './record-step-run.js';
import { INSERT_STEPS, newStepArrays, stepInput } from './task-steps.js';

/**
 * The template a submission was checked against changed (re-registered, or a new version of
 * its name) after it was cached: nothing was written; fetch it again and retry.
 */
export class StaleTemplateError extends Error {
  constructor(template: string) {
    super(`template ${template} was registered again since it was cached`);
    this.name = 'StaleTemplateError';
  }
}

export interface NewTask {
  context: Record<string, unknown>;
  identityHash: string;
  priority: number;
  correlationId: string | null;
  /** W3C traceparent the task's messages carry. */
  traceparent: string;
  initiator: string | null;
  sourceSystem: string | null;
  reason: string | null;
  tags: string[];
  /** Set when a schedule fired the task. */
  schedule?: { scheduleUuid: string; fireAt: Date } | undefined;
  /** Set when an event started the task (tasker.received_events). */
  triggerEventUuid?: string | undefined;
  /** The task's limits with its keys (taskSlotsOf); null: none. */
  slots: TaskSlots | null;
}

/** What the statement wrote: the task's ids and its root steps (now `enqueued`). */
export interface InsertedTaskGraph {
  taskUuid: string;
  correlationId: string;
  /** The root steps enqueued (not those waiting for a slot of a limit). */
  rootSteps: EnqueuedStep[];
  /** Root steps left `pending`, waiting for a slot of their limit (admitWaitingSteps). */
  waiting: number;
  /** The root steps' messages were sent by the statement itself (see `announce`). */
  announced: boolean;
}

/** The template a submission was checked against, and what its registration looked like. */
export interface TemplateVersionStamp {
  namedTaskUuid: string;
  /** tasker.named_tasks' latest updated_at for the template's name, as text (see below). */
  registeredAt: string;
}

/**
 * Writes a task, its steps, its edges, their first transitions (task: pending → initializing →
 * enqueuing_steps → steps_in_process; root steps: pending → enqueued, the others pending) in
 * one statement whatever the size of the DAG, with client-side UUIDv7s so nothing waits for
 * a generated key. With `announce` (PGMQ), the same statement sends the root steps' messages
 * (tasker.send_messages), so the task and its first messages commit together; without it, the
 * caller sends them after the commit, and the statement records them as owed by
 * `processorUuid` (the announcements outbox, step-announcements.ts).
 *
 * The template comes from a cache: the statement writes only if the template's registration
 * (every version of its name) is unchanged since the stamp was read, and throws
 * StaleTemplateError otherwise (the caller refetches). Throws DuplicateTaskError when the
 * identity hash is taken.
 */
export async function insertTaskGraph(
  q: Queryable,
  template: TaskTemplate,
  stamp: TemplateVersionStamp,
  task: NewTask,
  processorUuid: string | null,
  announce?: (created: Omit<InsertedTaskGraph, 'announced' | 'waiting'>) => InStatementSend,
): Promise<InsertedTaskGraph> {
  const taskUuid = uuidv7();
  // Without a caller-supplied correlation id, the task's own id correlates its messages.
  const correlationId = task.correlationId ?? taskUuid;
  // Steps that wait for a decision (or are batch worker templates) come later.
  const initial = initialSteps(template);
  const steps = initial.steps.map((step) => ({ step, uuid: uuidv7() }));
  const uuidByName = new Map(steps.map(({ step, uuid }) => [step.name, uuid]));
  const roots = steps.filter(({ step }) => step.dependsOn.length === 0);
  // A root step under a limit waits for a slot instead of starting enqueued.
  const limitOf = (name: string) => task.slots?.task ?? task.slots?.steps?.[name];
  const waiting = roots.filter(({ step }) => limitOf(step.name) !== undefined);
  // A fair limit's turns (tasker.waiter_order): the task takes one (task level), each of its
  // steps under a step-level limit one of that limit.
  const turnsTaken = new Map<string, number>();
  const waiterTurns = waiting.map(({ step }) => {
    if (task.slots?.task) return 0;
    const [limit] = limitOf(step.name)!;
    const turn = turnsTaken.get(limit) ?? 0;
    turnsTaken.set(limit, turn + 1);
    return turn;
  });
  const rootSteps = roots
    .filter(({ step }) => limitOf(step.name) === undefined)
    .map(({ step, uuid }) => ({ stepUuid: uuid, stepName: step.name }));
  if (roots.length === 0) {
    // A validated template always has a root step; reaching this means a corrupt template.
    throw new TaskerError(
      'template_invalid',
      `${templateKey(template)} has no step ready to start`,
    );
  }
  const edges = initial.edges.map(([parent, child]) => [
    uuidByName.get(parent)!,
    uuidByName.get(child)!,
  ]);
  const send =
    rootSteps.length > 0 ? announce?.({ taskUuid, correlationId, rootSteps }) : undefined;
  const { rows } = await q.query<{ created: boolean; current: boolean }>(
    `WITH current AS (
       SELECT (SELECT max(nt.updated_at)::text FROM tasker.named_tasks nt
                WHERE (nt.task_namespace_uuid, nt.name) =
                      (SELECT o.task_namespace_uuid, o.name FROM tasker.named_tasks o
                        WHERE o.named_task_uuid = $1)) = $2 AS ok
     ),
     task AS (
       INSERT INTO tasker.tasks
         (task_uuid, named_task_uuid, context, identity_hash, priority, correlation_id, initiator,
          source_system, reason, tags, traceparent, schedule_uuid, scheduled_fire_at,
          trigger_event_uuid, slots)
       SELECT $3, $1, $4::jsonb, $5, $6, $7, $8, $9, $10, $11::text[], $12, $13, $14, $32,
              $33::jsonb
         FROM current WHERE current.ok
       ON CONFLICT (identity_hash) DO NOTHING
       RETURNING task_uuid
     ),
     input AS (
       SELECT s.*, t.task_uuid, $1::uuid AS named_task_uuid FROM task t CROSS JOIN ${stepInput(15)}
     ),
     steps AS (${INSERT_STEPS}),
     edges AS (
       INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid)
       SELECT e.from_uuid, e.to_uuid
         FROM task, unnest($26::uuid[], $27::uuid[]) AS e(from_uuid, to_uuid)
     ),
     step_transitions AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
       SELECT i.uuid, x.from_state, x.to_state, x.sort_key, x.sort_key = 2 OR NOT i.root, $28
         FROM input i
        CROSS JOIN (VALUES (NULL, 'pending', 1), ('pending', 'enqueued', 2))
              AS x(from_state, to_state, sort_key)
        WHERE x.sort_key = 1 OR i.root
     ),
     task_transitions AS (
       INSERT INTO tasker.task_transitions
         (task_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
       SELECT t.task_uuid, x.from_state, x.to_state, x.sort_key, x.sort_key = 4, $28
         FROM task t
        CROSS JOIN (VALUES (NULL, 'pending', 1), ('pending', 'initializing', 2),
                           ('initializing', 'enqueuing_steps', 3),
                           ('enqueuing_steps', 'steps_in_process', 4))
              AS x(from_state, to_state, sort_key)
     ),
     sent AS (
       SELECT tasker.send_messages($29, $30::jsonb[]) AS n FROM task WHERE $29::text IS NOT NULL
     ),
     owed AS (
       INSERT INTO tasker.step_announcements (workflow_step_uuid, task_uuid, owner_uuid)
       SELECT i.uuid, i.task_uuid, $31 FROM input i WHERE i.root AND $31::uuid IS NOT NULL
     ),
     limit_keys AS (
       INSERT INTO tasker.concurrency_keys (limit_name, key)
       SELECT DISTINCT w.limit_name, w.key FROM task, unnest($35::text[], $36::text[]) AS w(limit_name, key)
       ON CONFLICT DO NOTHING
     ),
     waiters AS (
       INSERT INTO tasker.concurrency_waiters
         (workflow_step_uuid, task_uuid, limit_name, key, fair_group, order_at)
       SELECT w.uuid, t.task_uuid, w.limit_name, w.key, w.fair_group,
              tasker.waiter_order(w.limit_name, w.key, w.fair_group, w.turn, $6, $37)
         FROM task t,
              unnest($34::uuid[], $35::text[], $36::text[], $38::text[], $39::int[])
                AS w(uuid, limit_name, key, fair_group, turn)
     )
     SELECT EXISTS (SELECT 1 FROM task) AS created, (SELECT ok FROM current) AS current,
            (SELECT count(*) FROM sent) AS sent`,
    [
      stamp.namedTaskUuid,
      stamp.registeredAt,
      taskUuid,
      JSON.stringify(task.context),
      task.identityHash,
      task.priority,
      correlationId,
      task.initiator,
      task.sourceSystem,
      task.reason,
      task.tags,
      task.traceparent,
      task.schedule?.scheduleUuid ?? null,
      task.schedule?.fireAt ?? null,
      ...newStepArrays(
        steps,
        (step) => step.dependsOn.length === 0 && limitOf(step.name) === undefined,
      ),
      edges.map((e) => e[0]),
      edges.map((e) => e[1]),
      processorUuid,
      send?.queue ?? null,
      send?.messages ?? [],
      send === undefined ? processorUuid : null,
      task.triggerEventUuid ?? null,
      task.slots === null ? null : JSON.stringify(task.slots),
      waiting.map(({ uuid }) => uuid),
      waiting.map(({ step }) => limitOf(step.name)![0]),
      waiting.map(({ step }) => limitOf(step.name)![1]),
      PRIORITY_POINT_MS,
      waiting.map(({ step }) => limitOf(step.name)![2] ?? null),
      waiterTurns,
    ],
  );
  const row = rows[0]!;
  if (!row.current) throw new StaleTemplateError(templateKey(template));
  if (!row.created) {
    const existing = await q.query<{ task_uuid: string }>(
      'SELECT task_uuid FROM tasker.tasks WHERE identity_hash = $1',
      [task.identityHash],
    );
    throw new DuplicateTaskError(existing.rows[0]?.task_uuid ?? 'unknown');
  }
  return {
    taskUuid,
    correlationId,
    rootSteps,
    waiting: waiting.length,
    announced: send !== undefined,
  };
}
