import {
  type Admission,
  type ConcurrencyKey,
  type ConcurrencyLimit,
  type LockedTask,
  PRIORITY_POINT_MS,
  TaskerError,
  type TaskTemplate,
} from '#core';
import type { Queryable } from '../database.js';

/**
 * Flow control's statements (migrations 0021 to 0030). A ready step of a task under a limit
 * waits (`pending`, a row in tasker.concurrency_waiters) until tasker.admit_waiting gives it a
 * slot of its limit's key; see the migrations for the rules and the lock order.
 */

/**
 * Leaves the ready steps of these tasks (all under a limit) waiting for a slot: for their
 * task's task-level slot until the task holds it, then (a step with a limit of its own, under
 * the task's or alone) for the step's; the others are left to enqueueReadySteps. A step
 * back from a retry wait moves to `pending` (reason `retry_due`), and each gets a waiter row
 * (kept when it has one), ordered by when it began to wait (for a fair limit, by its group's
 * turn), earlier by its task's priority × `agingMs` (tasker.waiter_order). The steps are locked
 * first (task → step, the lock order). Answers how many steps of each task wait, and the
 * moment readiness was decided at (as text, to the µs): enqueueReadyStepsOfTasks must decide
 * at the same moment, or a retry due in between would start without a slot (migration 0024).
 */
export async function queueReadySteps(
  q: Queryable,
  taskUuids: readonly string[],
  processorUuid: string | null,
  agingMs: number,
): Promise<{ waiting: Map<string, number>; readyAt: string }> {
  const { rows } = await q.query<{ waiting: Record<string, number>; readyAt: string }>(
    `WITH ready AS (
       SELECT s.workflow_step_uuid, t.priority,
              -- Until the task holds its task-level slot, its steps wait for it (a fair
              -- limit's turn taken by the task); then a step with a limit of its own waits for
              -- that (a turn per step), and the others run under the task's slot.
              CASE WHEN h.waits THEN t.slots -> 'task' ELSE t.slots -> 'steps' -> n.name END
                AS lk,
              CASE WHEN h.waits THEN t.task_uuid ELSE s.workflow_step_uuid END AS unit
         FROM tasker.ready_steps($1::uuid[], statement_timestamp()) r
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = r.workflow_step_uuid
         JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
         JOIN tasker.named_steps n ON n.named_step_uuid = s.named_step_uuid
        CROSS JOIN LATERAL (
          SELECT t.slots ? 'task' AND NOT EXISTS (
                   SELECT 1 FROM tasker.concurrency_slots cs
                    WHERE cs.limit_name = t.slots -> 'task' ->> 0
                      AND cs.key = t.slots -> 'task' ->> 1
                      AND cs.holder_uuid = t.task_uuid) AS waits) h
     ),
     locked AS (
       SELECT s.workflow_step_uuid, s.task_uuid, r.lk, r.priority, r.unit
         FROM tasker.workflow_steps s
         JOIN ready r ON r.workflow_step_uuid = s.workflow_step_uuid
        WHERE r.lk IS NOT NULL
        ORDER BY s.workflow_step_uuid
          FOR UPDATE OF s
     ),
     retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
         FROM locked l
        WHERE t.workflow_step_uuid = l.workflow_step_uuid
          AND t.most_recent
          AND t.to_state = 'waiting_for_retry'
       RETURNING t.workflow_step_uuid, t.sort_key
     ),
     recorded AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent,
          processor_uuid)
       SELECT workflow_step_uuid, 'waiting_for_retry', 'pending', '{"reason":"retry_due"}',
              sort_key + 1, true, $2
         FROM retired
     ),
     cleared AS (
       UPDATE tasker.workflow_steps s SET next_retry_at = NULL, updated_at = now()
         FROM retired r WHERE s.workflow_step_uuid = r.workflow_step_uuid
     ),
     keyed AS (
       INSERT INTO tasker.concurrency_keys (limit_name, key)
       SELECT DISTINCT lk ->> 0, lk ->> 1 FROM locked
       ON CONFLICT DO NOTHING
     ),
     waiting AS (
       INSERT INTO tasker.concurrency_waiters
         (workflow_step_uuid, task_uuid, limit_name, key, fair_group, order_at)
       SELECT workflow_step_uuid, task_uuid, lk ->> 0, lk ->> 1, lk ->> 2,
              tasker.waiter_order(lk ->> 0, lk ->> 1, lk ->> 2,
                                  (dense_rank() OVER (PARTITION BY lk ->> 0, lk ->> 1, lk ->> 2
                                                      ORDER BY unit))::int - 1,
                                  priority, $3)
         FROM locked
       ON CONFLICT (workflow_step_uuid) DO NOTHING
     )
     SELECT (SELECT coalesce(json_object_agg(w.task_uuid, w.n), '{}')
               FROM (SELECT task_uuid, count(*)::int AS n FROM locked GROUP BY task_uuid) w)
              AS waiting,
            statement_timestamp()::text AS "readyAt"`,
    [taskUuids, processorUuid, agingMs],
  );
  return { waiting: new Map(Object.entries(rows[0]!.waiting)), readyAt: rows[0]!.readyAt };
}

/**
 * Runs tasker.admit_waiting and reads what announcing the admitted steps needs: for these
 * tasks' keys, or (null) as the sweep, which also answers the rate waits that end within
 * `dueWithinMs` (its period). A step that moves on from its task's key to a limit of its own
 * takes its turn there earlier by its task's priority × `agingMs`, as queueReadySteps orders.
 */
export async function admitWaitingSteps(
  q: Queryable,
  taskUuids: readonly string[] | null,
  processorUuid: string | null,
  dueWithinMs = 0,
  agingMs = PRIORITY_POINT_MS,
): Promise<Admission> {
  const { rows } = await q.query<{
    kind: 'admitted' | 'cancel' | 'wake';
    taskUuid: string | null;
    stepUuid: string | null;
    stepName: string | null;
    limitName: string;
    wakeAt: Date | null;
    namespace: string | null;
    taskName: string | null;
    correlationId: string | null;
    traceparent: string | null;
  }>(
    `SELECT kind, task_uuid AS "taskUuid", step_uuid AS "stepUuid", step_name AS "stepName",
            limit_name AS "limitName", wake_at AS "wakeAt", namespace, task_name AS "taskName",
            correlation_id AS "correlationId", traceparent
       FROM tasker.admit_waiting($1::uuid[], $2, $3, $4)`,
    [taskUuids, processorUuid, dueWithinMs, agingMs],
  );
  const byTask = new Map<string, Admission['admitted'][number]>();
  const admission: Admission = {
    admitted: [],
    cancel: [],
    wakeAt: null,
    startedByLimit: new Map(),
  };
  for (const row of rows) {
    if (row.kind === 'admitted') {
      let entry = byTask.get(row.taskUuid!);
      if (!entry) {
        const task: LockedTask = {
          taskUuid: row.taskUuid!,
          namespace: row.namespace!,
          name: row.taskName!,
          correlationId: row.correlationId!,
          traceparent: row.traceparent,
          // Not read (the task is not locked here): a task whose steps wait is waiting for this.
          state: 'waiting_for_dependencies',
          limited: true,
        };
        entry = { task, steps: [] };
        byTask.set(task.taskUuid, entry);
        admission.admitted.push(entry);
      }
      entry.steps.push({ stepUuid: row.stepUuid!, stepName: row.stepName! });
      const started = admission.startedByLimit;
      started.set(row.limitName, (started.get(row.limitName) ?? 0) + 1);
    } else if (row.kind === 'cancel' && row.taskUuid) {
      admission.cancel.push({ taskUuid: row.taskUuid, limit: row.limitName });
    } else if (row.kind === 'wake' && row.wakeAt) {
      if (!admission.wakeAt || row.wakeAt < admission.wakeAt) admission.wakeAt = row.wakeAt;
    }
  }
  return admission;
}

/** The advisory lock registrations of limits take (beside the migrator's 7_241_003_117). */
const LIMITS_REGISTRATION_LOCK_KEY = 7_241_003_119;

/**
 * Writes the limits a template declares (registration, in its transaction: its lock lasts
 * until the commit). A name is shared
 * by every template that declares it, so a declaration that disagrees with the one another
 * template made is refused, naming both; the same template may change its own max_running,
 * rate and strategy. A limit's level and whether it is fair never change, whoever declares it:
 * tasks submitted under it hold and wait by them (tasks.slots), and a task-level slot read as
 * a step's would count as free.
 */
export async function registerConcurrencyLimits(
  q: Queryable,
  template: TaskTemplate,
): Promise<void> {
  const declaredBy = `${template.namespace}/${template.name}`;
  const declared: { level: 'task' | 'step'; limit: ConcurrencyLimit }[] = [
    ...(template.concurrency ? [{ level: 'task' as const, limit: template.concurrency }] : []),
    ...template.steps.flatMap((s) =>
      s.concurrency ? [{ level: 'step' as const, limit: s.concurrency }] : [],
    ),
  ];
  if (declared.length === 0) return;
  // One registration at a time: the check below reads the limits as they were when its
  // statement began, so two at once (replicas of two deployments booting) would each miss the
  // other's declaration, and the later upsert would mix one's level with the other's settings.
  await q.query('SELECT pg_advisory_xact_lock($1)', [LIMITS_REGISTRATION_LOCK_KEY]);
  const { rows } = await q.query<{
    name: string;
    declaredBy: string;
    level: string;
    fair: boolean;
    fixed: boolean;
  }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::text[],
                            $8::boolean[])
                AS i(name, level, max_running, rate_limit, rate_period_ms, strategy, fair)
     ),
     conflicting AS (
       SELECT l.name, l.declared_by, l.level, l.fair, c.fixed
         FROM tasker.concurrency_limits l
         JOIN input i ON i.name = l.name
         -- fair is NULL for a limit registered before migration 0026: it agrees with either.
        CROSS JOIN LATERAL (
          SELECT (l.level, coalesce(l.fair, i.fair)) IS DISTINCT FROM (i.level, i.fair) AS fixed) c
        WHERE c.fixed
           OR (l.declared_by <> $7
               AND (l.max_running, l.rate_limit, l.rate_period_ms, l.strategy)
                   IS DISTINCT FROM (i.max_running, i.rate_limit, i.rate_period_ms, i.strategy))
          FOR UPDATE OF l
     ),
     written AS (
       INSERT INTO tasker.concurrency_limits AS l
         (name, level, max_running, rate_limit, rate_period_ms, strategy, fair, declared_by)
       SELECT DISTINCT ON (i.name) i.name, i.level, i.max_running, i.rate_limit,
              i.rate_period_ms, i.strategy, i.fair, $7
         FROM input i WHERE NOT EXISTS (SELECT 1 FROM conflicting)
       -- The level never changes (conflicting); fair only from NULL (before migration 0026).
       ON CONFLICT (name) DO UPDATE
          SET max_running = excluded.max_running, rate_limit = excluded.rate_limit,
              rate_period_ms = excluded.rate_period_ms, strategy = excluded.strategy,
              fair = excluded.fair, declared_by = excluded.declared_by, updated_at = now()
        WHERE (l.max_running, l.rate_limit, l.rate_period_ms, l.strategy, l.fair)
              IS DISTINCT FROM (excluded.max_running, excluded.rate_limit,
                                excluded.rate_period_ms, excluded.strategy, excluded.fair)
     )
     SELECT name, declared_by AS "declaredBy", level, fair, fixed FROM conflicting`,
    [
      declared.map((d) => d.limit.name),
      declared.map((d) => d.level),
      declared.map((d) => d.limit.maxRunning ?? null),
      declared.map((d) => d.limit.rate?.limit ?? null),
      declared.map((d) => d.limit.rate?.periodMs ?? null),
      declared.map((d) => d.limit.strategy),
      declaredBy,
      declared.map((d) => d.limit.fairPath !== undefined),
    ],
  );
  if (rows.length > 0) {
    throw new TaskerError(
      'template_invalid',
      `${declaredBy}: ${rows
        .map((r) =>
          r.fixed
            ? `concurrency limit ${r.name} is ${r.level}-level and ${r.fair ? '' : 'not '}fair_by (declared by ${r.declaredBy}); a limit's level and whether it is fair_by never change, as tasks submitted under it hold and wait by them: give the new declaration a name of its own`
            : `concurrency limit ${r.name} is declared by ${r.declaredBy} (${r.level} level) with other settings; limits of one name share their slots, so their declarations must agree`,
        )
        .join('; ')}`,
      { limits: rows.map((r) => r.name) },
    );
  }
}

/**
 * Deletes the rows of up to `max` keys nothing uses any more (no waiter, no slot held, no start
 * in the rate's window: tasker.prune_concurrency_keys), so that keys such as customer ids do
 * not pile up; answers how many.
 */
export async function pruneConcurrencyKeys(q: Queryable, max: number): Promise<number> {
  const { rows } = await q.query<{ pruned: number }>(
    `SELECT tasker.prune_concurrency_keys($1) AS pruned`,
    [max],
  );
  return rows[0]!.pruned;
}

/**
 * Every key in use with its running (slots whose holder still holds them) and waiting counts,
 * busiest first; `limit` filters by limit name.
 */
export async function concurrencyKeys(
  q: Queryable,
  filter: { limit?: string | undefined; max: number },
): Promise<ConcurrencyKey[]> {
  const { rows } = await q.query<
    Omit<ConcurrencyKey, 'oldestWaitingSince' | 'nextStartAt'> & {
      oldestWaitingSince: Date | null;
      nextStartAt: Date | null;
    }
  >(
    `WITH in_use AS (
       SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
        WHERE $1::text IS NULL OR cw.limit_name = $1
       UNION
       SELECT s.limit_name, s.key FROM tasker.concurrency_slots s
        WHERE $1::text IS NULL OR s.limit_name = $1
     )
     SELECT * FROM (
     SELECT u.limit_name AS "limit", l.level, u.key, l.max_running AS "maxRunning",
            l.rate_limit AS "rateLimit", l.rate_period_ms AS "ratePeriodMs", l.strategy,
            (SELECT count(*)::int FROM tasker.concurrency_slots s
              WHERE s.limit_name = u.limit_name AND s.key = u.key
                AND ${HOLDING}) AS running,
            w.waiting, w.oldest AS "oldestWaitingSince", k.next_start_at AS "nextStartAt"
       FROM in_use u
       JOIN tasker.concurrency_limits l ON l.name = u.limit_name
       LEFT JOIN tasker.concurrency_keys k ON k.limit_name = u.limit_name AND k.key = u.key
      CROSS JOIN LATERAL (SELECT count(*)::int AS waiting, min(cw.waiting_since) AS oldest
                            FROM tasker.concurrency_waiters cw
                           WHERE cw.limit_name = u.limit_name AND cw.key = u.key) w) x
      WHERE x.running > 0 OR x.waiting > 0
      ORDER BY x.running + x.waiting DESC, x."limit", x.key
      LIMIT $2`,
    [filter.limit ?? null, filter.max],
  );
  return rows.map((r) => ({
    ...r,
    oldestWaitingSince: r.oldestWaitingSince?.toISOString() ?? null,
    nextStartAt: r.nextStartAt?.toISOString() ?? null,
  }));
}

/** A slot whose holder still holds it (migrations 0022, 0023). */
const HOLDING = `tasker.slot_held(l.level, s.holder_uuid)`;

/** Slots held (whose holder still holds them) and steps waiting, by limit: the gauges. */
export async function limitTotals(
  q: Queryable,
): Promise<Map<string, { running: number; waiting: number }>> {
  const { rows } = await q.query<{ limit: string; running: number; waiting: number }>(
    `SELECT l.name AS "limit",
            (SELECT count(*)::int FROM tasker.concurrency_slots s
              WHERE s.limit_name = l.name AND ${HOLDING}) AS running,
            (SELECT count(*)::int FROM tasker.concurrency_waiters cw
              WHERE cw.limit_name = l.name) AS waiting
       FROM tasker.concurrency_limits l`,
  );
  return new Map(rows.map((r) => [r.limit, { running: r.running, waiting: r.waiting }]));
}
