import type { MessageRow, StepFailure } from '#core';
import type { Queryable } from '../database.js';
import { jsonbSafeText } from '../jsonb-text.js';

export type StepRunOutcome =
  | {
      kind: 'success';
      result: unknown;
      /** Payloads the handler chose for its success events, by name (withEventPayloads). */
      eventPayloads?: Readonly<Record<string, unknown>>;
    }
  | { kind: 'failure'; failure: StepFailure };

/** One finished run to record: the step, the attempt its claim counted, and how it went. */
export interface StepRunRecord {
  stepUuid: string;
  attempt: number;
  outcome: StepRunOutcome;
}

/**
 * Messages a state-changing statement sends itself, to commit with the state they announce:
 * the queue and one JSON body each (PGMQ only: see MessageBus.queuesInDatabase).
 */
export interface InStatementSend {
  queue: string;
  messages: readonly string[];
}

/**
 * Stores runs' results or errors together with their transitions (`in_progress →
 * enqueued_for_orchestration | enqueued_as_error_for_orchestration`), in one statement for the
 * whole batch (a worker group-commits the runs that finish together). Only the run that holds
 * the claim can record: the step must still be `in_progress` at the same attempt, so a late
 * run that lost its claim (timed out, cancelled) changes nothing. With `announce`, the result
 * messages of exactly the recorded runs are sent in the same statement (tasker.send_messages),
 * so state and queue commit together, and the `consumed` step messages (those that asked for
 * these runs, recorded or not: their worker is done with them) are deleted by it (pgmq.delete),
 * so no ack follows. Answers, in the runs' order, whether each was recorded;
 * a step given twice is recorded at most once (its first place). The step rows are locked
 * before their transitions, in uuid order (the lock order, see transition-steps.ts). A
 * success's result must be storable as jsonb (see findJsonbUnstorable).
 */
export async function recordStepRuns(
  q: Queryable,
  runs: readonly StepRunRecord[],
  processorUuid: string,
  announce?: InStatementSend,
  consumed: readonly MessageRow[] = [],
): Promise<boolean[]> {
  if (runs.length === 0) return [];
  if (announce && announce.messages.length !== runs.length) {
    throw new Error(`${runs.length} runs to record but ${announce.messages.length} messages`);
  }
  const seen = new Set<string>();
  const first = runs.map((run) => {
    const key = run.stepUuid.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const batch = runs.filter((_, i) => first[i]);
  const { rows } = await q.query<{ recorded: string[] }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::jsonb[], $5::jsonb[],
                            $6::float8[], $8::jsonb[], $12::jsonb[])
                WITH ORDINALITY AS i(step_uuid, attempt, to_state, result, failure, backoff,
                                     message, event_payloads, ord)
     ),
     locked AS (
       SELECT s.workflow_step_uuid FROM tasker.workflow_steps s
         JOIN input i ON i.step_uuid = s.workflow_step_uuid AND s.attempts = i.attempt
        ORDER BY s.workflow_step_uuid
          FOR UPDATE OF s
     ),
     retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
         FROM locked l
        WHERE t.workflow_step_uuid = l.workflow_step_uuid AND t.most_recent
          AND t.to_state = 'in_progress'
       RETURNING t.workflow_step_uuid, t.sort_key
     ),
     moved AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
       SELECT r.workflow_step_uuid, 'in_progress', i.to_state,
              jsonb_build_object('attempt', i.attempt), r.sort_key + 1, true, $7
         FROM retired r JOIN input i ON i.step_uuid = r.workflow_step_uuid
       RETURNING workflow_step_uuid
     ),
     stored AS (
       UPDATE tasker.workflow_steps s
          SET results = CASE WHEN i.result IS NULL THEN s.results ELSE i.result END,
              last_error = i.failure,
              backoff_request_seconds = i.backoff,
              event_payloads = i.event_payloads,
              updated_at = now()
         FROM moved m JOIN input i ON i.step_uuid = m.workflow_step_uuid
        WHERE s.workflow_step_uuid = m.workflow_step_uuid
       RETURNING s.workflow_step_uuid
     ),
     sent AS (
       SELECT tasker.send_messages($9, array_agg(i.message ORDER BY i.ord)) AS n
         FROM moved m JOIN input i ON i.step_uuid = m.workflow_step_uuid
        WHERE $9::text IS NOT NULL
     ),
     consumed AS (
       SELECT count(*) AS n
         FROM (SELECT c.queue, array_agg(c.msg_id) AS ids
                 FROM unnest($10::text[], $11::bigint[]) AS c(queue, msg_id)
                GROUP BY c.queue) d
        CROSS JOIN LATERAL pgmq.delete(d.queue, d.ids)
     )
     SELECT coalesce((SELECT array_agg(workflow_step_uuid::text) FROM stored), '{}') AS recorded,
            (SELECT n FROM sent) AS sent, (SELECT n FROM consumed) AS consumed`,
    [
      batch.map((run) => run.stepUuid),
      batch.map((run) => run.attempt),
      batch.map((run) =>
        run.outcome.kind === 'success'
          ? 'enqueued_for_orchestration'
          : 'enqueued_as_error_for_orchestration',
      ),
      batch.map((run) =>
        run.outcome.kind === 'success' ? JSON.stringify(run.outcome.result ?? null) : null,
      ),
      batch.map((run) =>
        run.outcome.kind === 'failure' ? storedFailure(run.outcome.failure) : null,
      ),
      batch.map((run) =>
        run.outcome.kind === 'failure' && run.outcome.failure.backoffHintMs !== null
          ? run.outcome.failure.backoffHintMs / 1000
          : null,
      ),
      processorUuid,
      announce ? announce.messages.filter((_, i) => first[i]) : batch.map(() => null),
      announce?.queue ?? null,
      consumed.map((c) => c.queue),
      consumed.map((c) => c.msgId),
      batch.map((run) =>
        run.outcome.kind === 'success' && run.outcome.eventPayloads
          ? JSON.stringify(run.outcome.eventPayloads)
          : null,
      ),
    ],
  );
  const recorded = new Set(rows[0]!.recorded);
  return runs.map((run, i) => first[i]! && recorded.has(run.stepUuid.toLowerCase()));
}

/** An error message may quote anything (a NUL, half a surrogate pair): stored readable, never refused. */
function storedFailure(failure: StepFailure): string {
  return JSON.stringify(failure, (_key, value: unknown) =>
    typeof value === 'string' ? jsonbSafeText(value) : value,
  );
}
