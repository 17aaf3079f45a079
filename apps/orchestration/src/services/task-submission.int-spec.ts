import { useOrchestrationReplicas } from '../testing/orchestration-replicas.js';
import { TaskSubmissionService } from './task-submission.service.js';

/**
 * Submission writes against a cached template; these tests change the registration behind a
 * replica's back (as another replica booting a new build would) and check that the next
 * submission notices it and uses what is registered now.
 */
describe('task submission against cached templates', () => {
  const env = useOrchestrationReplicas(1);
  const app = () => env.replicas[0]!;

  const submit = (version?: string) =>
    app()
      .get(TaskSubmissionService)
      .submit({
        namespace: 'examples',
        name: 'linear',
        version,
        context: { n: 3 },
        idempotencyKey: crypto.randomUUID(),
      });

  async function stepTimeouts(taskUuid: string): Promise<Record<string, number>> {
    const { rows } = await env.pool.query<{ name: string; timeout_seconds: number }>(
      'SELECT name, timeout_seconds FROM tasker.workflow_steps WHERE task_uuid = $1',
      [taskUuid],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.timeout_seconds]));
  }

  it('writes the task, its steps and its first messages in one commit', async () => {
    const { taskUuid, enqueuedSteps } = await submit();
    const { rows } = await env.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgmq.q_worker_examples_queue
        WHERE message->'payload'->>'taskUuid' = $1`,
      [taskUuid],
    );
    expect(rows[0]!.n).toBe(enqueuedSteps.length);
    const { rows: writers } = await env.pool.query<{ xmin: string }>(
      `SELECT DISTINCT xmin::text FROM (
         SELECT xmin FROM tasker.tasks WHERE task_uuid = $1
         UNION ALL SELECT xmin FROM pgmq.q_worker_examples_queue
                    WHERE message->'payload'->>'taskUuid' = $1::text) w`,
      [taskUuid],
    );
    expect(writers).toHaveLength(1);
    const { rows: history } = await env.pool.query<{ to_state: string }>(
      'SELECT to_state FROM tasker.task_transitions WHERE task_uuid = $1 ORDER BY sort_key',
      [taskUuid],
    );
    expect(history.map((h) => h.to_state)).toEqual([
      'pending',
      'initializing',
      'enqueuing_steps',
      'steps_in_process',
    ]);
  });

  it('notices a template registered again elsewhere and submits against the new definition', async () => {
    const before = await submit();
    expect(Object.values(await stepTimeouts(before.taskUuid))).not.toContain(77);
    // Another replica re-registers 1.0.0 with a changed step timeout.
    await env.pool.query(
      `UPDATE tasker.named_tasks
          SET configuration = jsonb_set(configuration, '{steps,0,timeoutSeconds}', '77'),
              updated_at = clock_timestamp()
        WHERE name = 'linear' AND version = '1.0.0'`,
    );
    const after = await submit();
    expect(Object.values(await stepTimeouts(after.taskUuid))).toContain(77);
  });

  it('notices a newer version registered elsewhere when the request names none', async () => {
    await submit();
    await env.pool.query(
      `INSERT INTO tasker.named_tasks
         (task_namespace_uuid, name, version, description, identity_strategy, configuration, source)
       SELECT task_namespace_uuid, name, '1.1.0', description, identity_strategy,
              jsonb_set(configuration, '{version}', '"1.1.0"'), source
         FROM tasker.named_tasks WHERE name = 'linear' AND version = '1.0.0'`,
    );
    expect((await submit()).version).toBe('1.1.0');
    expect((await submit('1.0.0')).version).toBe('1.0.0');
  });
});
