import { createEnvelope, type MessageEnvelope, workerQueueName } from '#contracts';
import { MessageBus } from '#core';
import { insertTaskRows } from '#testing';
import { useOrchestrationReplicas } from '../testing/orchestration-replicas.js';
import { StepResultProcessor } from './step-result.processor.js';

/**
 * Batches of step results applied by StepResultProcessor on a real database, by two
 * orchestration replicas at once: each result applied once whatever the overlap, and a result
 * that fails its batch failing alone.
 */
describe('step results applied in batches', () => {
  const env = useOrchestrationReplicas(2);
  const { replicas } = env;

  const processor = (replica: number) => replicas[replica]!.get(StepResultProcessor);

  /** insertTaskRows, with the worker queue its ready steps are announced on. */
  async function insertTask(spec: Parameters<typeof insertTaskRows>[1]) {
    await replicas[0]!.get(MessageBus).ensureQueue(workerQueueName(spec.namespace));
    return insertTaskRows(env.pool, spec);
  }

  const result = (taskUuid: string, stepUuid: string, outcome: 'success' | 'failure' = 'success') =>
    createEnvelope(
      'step.result.v1',
      { taskUuid, stepUuid, attempt: 1, outcome },
      { correlationId: taskUuid, attempt: 1 },
    );

  /** How many times each of `stepUuids` entered `state` (from the transition history). */
  async function entries(stepUuids: string[], state: string): Promise<number[]> {
    const { rows } = await env.pool.query<{ uuid: string; n: number }>(
      `SELECT u.uuid, (SELECT count(*)::int FROM tasker.workflow_step_transitions t
                         WHERE t.workflow_step_uuid = u.uuid AND t.to_state = $2) AS n
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(uuid, ord) ORDER BY u.ord`,
      [stepUuids, state],
    );
    return rows.map((row) => row.n);
  }

  async function taskState(taskUuid: string): Promise<string> {
    const { rows } = await env.pool.query<{ to_state: string }>(
      'SELECT to_state FROM tasker.task_transitions WHERE task_uuid = $1 AND most_recent',
      [taskUuid],
    );
    return rows[0]!.to_state;
  }

  it('two replicas applying overlapping batches of the same tasks apply each result once', async () => {
    const tasks = [];
    for (let i = 0; i < 25; i++) {
      tasks.push(
        await insertTask({
          namespace: `overlap_${i}`,
          taskState: 'steps_in_process',
          steps: [
            { name: 'a', state: 'enqueued_for_orchestration', attempts: 1 },
            { name: 'b', state: 'enqueued_for_orchestration', attempts: 1 },
            { name: 'join', state: 'pending', dependsOn: ['a', 'b'] },
          ],
        }),
      );
    }
    const results = tasks.flatMap(({ taskUuid, stepUuids }) => [
      result(taskUuid, stepUuids.a!),
      result(taskUuid, stepUuids.b!),
    ]);
    // Each replica gets every result (one in order, one reversed, plus a duplicate of each):
    // their batches hold the same tasks and serialize on the task locks.
    const handled = await Promise.all([
      ...[...results, ...results].map((r) => processor(0).handle(r)),
      ...[...results].reverse().map((r) => processor(1).handle(r)),
    ]);
    expect(handled.every((disposition) => disposition.deadLetterReason === undefined)).toBe(true);

    const parents = tasks.flatMap(({ stepUuids }) => [stepUuids.a!, stepUuids.b!]);
    const joins = tasks.map(({ stepUuids }) => stepUuids.join!);
    expect(await entries(parents, 'complete')).toEqual(parents.map(() => 1));
    expect(await entries(joins, 'enqueued')).toEqual(joins.map(() => 1));
    const { rows } = await env.pool.query<{ task_uuid: string; n: number }>(
      `SELECT task_uuid, count(*)::int AS n FROM tasker.task_transitions
        WHERE task_uuid = ANY ($1::uuid[]) AND to_state = 'enqueuing_steps'
        GROUP BY task_uuid`,
      [tasks.map((t) => t.taskUuid)],
    );
    expect(rows.map((row) => row.n)).toEqual(tasks.map(() => 1));
    for (const { taskUuid } of tasks) expect(await taskState(taskUuid)).not.toBe('error');
  });

  it('a result that fails its batch fails alone: the others of the batch are applied', async () => {
    const good = [
      await insertTask({
        namespace: 'good_1',
        taskState: 'steps_in_process',
        steps: [
          { name: 'only', state: 'enqueued_for_orchestration', attempts: 1 },
          { name: 'next', state: 'pending', dependsOn: ['only'] },
        ],
      }),
      await insertTask({
        namespace: 'good_2',
        taskState: 'steps_in_process',
        steps: [{ name: 'only', state: 'enqueued_for_orchestration', attempts: 1 }],
      }),
    ];
    // A failed run with retries left, whose stored retry policy is empty: its backoff is not a
    // number and the database refuses to schedule the retry.
    const bad = await insertTask({
      namespace: 'bad_policy',
      taskState: 'steps_in_process',
      steps: [{ name: 'only', state: 'enqueued_as_error_for_orchestration', attempts: 1 }],
    });
    const unknownStep = '0190a0a0-0000-7000-8000-00000000beef';
    const batch: MessageEnvelope<'step.result.v1'>[] = [
      result(good[0]!.taskUuid, good[0]!.stepUuids.only!),
      result(bad.taskUuid, bad.stepUuids.only!, 'failure'),
      result(good[1]!.taskUuid, unknownStep),
      result(good[1]!.taskUuid, good[1]!.stepUuids.only!),
    ];
    const outcomes = await Promise.allSettled(batch.map((r) => processor(0).handle(r)));

    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: {} });
    expect(outcomes[1]).toMatchObject({
      status: 'rejected',
      reason: { message: 'interval out of range' },
    });
    expect(outcomes[2]).toEqual({
      status: 'fulfilled',
      value: { deadLetterReason: `no step ${unknownStep} in task ${good[1]!.taskUuid}` },
    });
    expect(outcomes[3]).toEqual({ status: 'fulfilled', value: {} });
    expect(await taskState(good[0]!.taskUuid)).toBe('steps_in_process');
    expect(await taskState(good[1]!.taskUuid)).toBe('complete');
    // `next` was announced once, by the transaction that applied its parent's result…
    const { rows: sent } = await env.pool.query<{ step: string }>(
      `SELECT message->'payload'->>'stepUuid' AS step FROM pgmq.q_worker_good_1_queue`,
    );
    expect(sent).toEqual([{ step: good[0]!.stepUuids.next }]);
    // …in the very transaction that enqueued the step: state and queue commit together.
    const { rows: writers } = await env.pool.query<{ message: string; enqueued: string }>(
      `SELECT (SELECT xmin::text FROM pgmq.q_worker_good_1_queue) AS message,
              (SELECT xmin::text FROM tasker.workflow_step_transitions
                WHERE workflow_step_uuid = $1 AND to_state = 'enqueued') AS enqueued`,
      [good[0]!.stepUuids.next],
    );
    expect(writers[0]!.message).toBe(writers[0]!.enqueued);
    // The failed result wrote nothing: the step still awaits its decision.
    expect(await entries([bad.stepUuids.only!], 'waiting_for_retry')).toEqual([0]);
    expect(await taskState(bad.taskUuid)).toBe('steps_in_process');
  });
});
