import { insertTaskRows, useDatabasePool } from '#testing';
import { recordStepRuns } from './record-step-run.js';

describe('recordStepRuns', () => {
  const db = useDatabasePool();
  const processor = '0190a0a0-0000-7000-8000-00000000c1a2';

  const current = async (stepUuid: string) =>
    (
      await db.pool.query<{ to_state: string; results: unknown; last_error: unknown }>(
        `SELECT t.to_state, s.results, s.last_error
           FROM tasker.workflow_steps s
           JOIN tasker.workflow_step_transitions t
             ON t.workflow_step_uuid = s.workflow_step_uuid AND t.most_recent
          WHERE s.workflow_step_uuid = $1`,
        [stepUuid],
      )
    ).rows[0]!;

  it('records a batch in one statement and sends the result messages of exactly the recorded runs', async () => {
    await db.pool.query(`SELECT pgmq.create('record_results')`);
    const { stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'record_batch',
      taskState: 'steps_in_process',
      steps: [
        { name: 'ok', state: 'in_progress', attempts: 1 },
        { name: 'failed', state: 'in_progress', attempts: 1 },
        { name: 'late', state: 'in_progress', attempts: 2 },
        { name: 'moved_on', state: 'cancelled', attempts: 1 },
      ],
    });
    const failure = {
      message: 'nul \u0000 inside',
      errorClass: 'Error',
      permanent: false,
      backoffHintMs: 1500,
      timedOut: false,
    };
    const recorded = await recordStepRuns(
      db.pool,
      [
        { stepUuid: stepUuids.ok!, attempt: 1, outcome: { kind: 'success', result: { n: 1 } } },
        { stepUuid: stepUuids.failed!, attempt: 1, outcome: { kind: 'failure', failure } },
        // A run that lost its claim (the step is at attempt 2), and one of a cancelled step.
        { stepUuid: stepUuids.late!, attempt: 1, outcome: { kind: 'success', result: 1 } },
        { stepUuid: stepUuids.moved_on!, attempt: 1, outcome: { kind: 'success', result: 1 } },
        // The same step twice in one batch: only its first place counts.
        { stepUuid: stepUuids.ok!, attempt: 1, outcome: { kind: 'success', result: { n: 2 } } },
      ],
      processor,
      {
        queue: 'record_results',
        messages: ['ok', 'failed', 'late', 'moved_on', 'ok again'].map((m) =>
          JSON.stringify({ m }),
        ),
      },
    );
    expect(recorded).toEqual([true, true, false, false, false]);
    expect(await current(stepUuids.ok!)).toMatchObject({
      to_state: 'enqueued_for_orchestration',
      results: { n: 1 },
    });
    expect(await current(stepUuids.failed!)).toMatchObject({
      to_state: 'enqueued_as_error_for_orchestration',
      last_error: { message: 'nul \\u0000 inside', backoffHintMs: 1500 },
    });
    expect((await current(stepUuids.late!)).to_state).toBe('in_progress');
    expect((await current(stepUuids.moved_on!)).to_state).toBe('cancelled');
    const { rows } = await db.pool.query<{ message: { m: string } }>(
      'SELECT message FROM pgmq.q_record_results ORDER BY msg_id',
    );
    expect(rows.map((row) => row.message.m)).toEqual(['ok', 'failed']);
  });

  it('sends nothing, and notifies nobody, when no run of the batch is recorded', async () => {
    await db.pool.query(`SELECT pgmq.create('record_none')`);
    const channel = 'tasker_message_ready.record_none';
    const listener = await db.pool.connect();
    const heard: string[] = [];
    const sentinel = new Promise<void>((resolve) =>
      listener.on('notification', ({ payload }) => {
        heard.push(payload ?? '');
        if (payload === 'sentinel') resolve();
      }),
    );
    await listener.query(`LISTEN "${channel}"`);
    const { stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'record_none',
      taskState: 'steps_in_process',
      steps: [{ name: 'done', state: 'complete', attempts: 1 }],
    });
    const recorded = await recordStepRuns(
      db.pool,
      [{ stepUuid: stepUuids.done!, attempt: 1, outcome: { kind: 'success', result: null } }],
      processor,
      { queue: 'record_none', messages: ['{}'] },
    );
    expect(recorded).toEqual([false]);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pgmq.q_record_none',
    );
    expect(rows[0]!.n).toBe(0);
    // Notices reach a listener in commit order: any from the record would come before this.
    await db.pool.query('SELECT pg_notify($1, $2)', [channel, 'sentinel']);
    await sentinel;
    await listener.query('UNLISTEN *');
    listener.release();
    expect(heard).toEqual(['sentinel']);
  });

  it('deletes the step messages of the batch in the same statement, recorded or not', async () => {
    await db.pool.query(`SELECT pgmq.create('record_asked'), pgmq.create('record_answers')`);
    const { stepUuids } = await insertTaskRows(db.pool, {
      namespace: 'record_consume',
      taskState: 'steps_in_process',
      steps: [
        { name: 'ran', state: 'in_progress', attempts: 1 },
        { name: 'gone', state: 'cancelled', attempts: 1 },
      ],
    });
    const { rows: asked } = await db.pool.query<{ id: string }>(
      `SELECT pgmq.send('record_asked', jsonb_build_object('n', g))::text AS id
         FROM generate_series(1, 3) g`,
    );
    const [ran, gone, other] = asked.map((row) => ({ queue: 'record_asked', msgId: row.id }));
    const recorded = await recordStepRuns(
      db.pool,
      [
        { stepUuid: stepUuids.ran!, attempt: 1, outcome: { kind: 'success', result: 1 } },
        { stepUuid: stepUuids.gone!, attempt: 1, outcome: { kind: 'success', result: 1 } },
      ],
      processor,
      { queue: 'record_answers', messages: ['{"m":"ran"}', '{"m":"gone"}'] },
      [ran!, gone!],
    );
    expect(recorded).toEqual([true, false]);
    const left = await db.pool.query<{ id: string }>(
      'SELECT msg_id::text AS id FROM pgmq.q_record_asked',
    );
    expect(left.rows).toEqual([{ id: other!.msgId }]);
    const answers = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pgmq.q_record_answers',
    );
    expect(answers.rows[0]!.n).toBe(1);
  });
});
