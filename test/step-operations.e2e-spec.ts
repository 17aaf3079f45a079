import { randomUUID } from 'node:crypto';
import type { StepDetailView, TaskView } from '#core';
import { defineHandler, PermanentStepError } from '#core';
import { recordStepRuns } from '#persistence';
import { pollUntil } from '#testing';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { TaskerHarness } from './support/tasker-harness.js';

/** `left` of a diamond fails for good while `broken` is set: a fault an operator then fixes. */
let broken = true;
/** `left` of a diamond with this `n` stays in its handler (in_progress) until `release()`. */
const HELD_N = 5000;
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => {
  release = resolve;
});
const handlers = [
  ...EXAMPLE_HANDLERS.filter((h) => h.name !== 'examples.square'),
  defineHandler('examples.square', async (ctx) => {
    if (broken && ctx.stepName === 'left') throw new PermanentStepError('left is broken');
    if (ctx.stepName === 'left' && ctx.context.n === HELD_N) await held;
    const parent = Object.values(ctx.dependencyResults)[0] as { value: number } | undefined;
    const x = parent?.value ?? (ctx.context.n as number);
    return { value: x * x };
  }),
];

describe('operator step actions', () => {
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({ handlers });
  });

  afterAll(async () => {
    release();
    await tasker.stop();
  });

  beforeEach(() => {
    broken = true;
  });

  let submitted = 0;
  /** A diamond whose `left` failed; contexts differ so the strict identity never collides. */
  async function failedDiamond(): Promise<{ task: TaskView; left: string }> {
    const n = ++submitted;
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n },
    });
    const task = await tasker.waitForStatus(taskUuid, ['error']);
    const left = task.steps.find((s) => s.name === 'left')!;
    expect(left.state).toBe('error');
    return { task, left: left.stepUuid };
  }

  function act(taskUuid: string, stepUuid: string, body: Record<string, unknown>) {
    return tasker.request<StepDetailView>('PATCH', `/v1/tasks/${taskUuid}/steps/${stepUuid}`, body);
  }

  it('resets a failed step with a fresh retry budget; the errored task runs on to complete', async () => {
    const { task, left } = await failedDiamond();
    broken = false;
    const reply = await act(task.taskUuid, left, {
      action: 'reset_for_retry',
      operator: 'jane@ops',
      reason: 'fixed the left service',
    });
    expect(reply.status).toBe(200);
    const done = await tasker.waitForStatus(task.taskUuid, ['complete']);
    // n = 1: start 1, left 1, right 1, end 2.
    expect(done.steps.find((s) => s.name === 'end')!.result).toEqual({ value: 2 });
    expect(done.completedAt).not.toBeNull();

    const history = await tasker.request<StepDetailView>(
      'GET',
      `/v1/tasks/${task.taskUuid}/steps/${left}`,
    );
    // The reset started the count again: the run after it is attempt 1, not 2. (The reply's
    // own count may already show a worker's claim: it is read after the commit.)
    expect(history.body.attempts).toBe(1);
    const states = history.body.transitions.map((t) => t.toState);
    expect(states.slice(0, 6)).toEqual([
      'pending',
      'enqueued',
      'in_progress',
      'enqueued_as_error_for_orchestration',
      'error',
      'pending',
    ]);
    expect(states.at(-1)).toBe('complete');
    expect(history.body.transitions[5]).toMatchObject({
      fromState: 'error',
      metadata: {
        action: 'reset_for_retry',
        operator: 'jane@ops',
        reason: 'fixed the left service',
      },
    });
    const { rows } = await tasker.pool.query<{ to_state: string; metadata: object }>(
      `SELECT to_state, metadata FROM tasker.task_transitions
        WHERE task_uuid = $1 AND from_state = 'error'`,
      [task.taskUuid],
    );
    expect(rows).toEqual([
      {
        to_state: 'evaluating_results',
        metadata: expect.objectContaining({ operator: 'jane@ops' }),
      },
    ]);
  });

  it('completes a step by hand with a result its dependents receive', async () => {
    const { task, left } = await failedDiamond();
    const reply = await act(task.taskUuid, left, {
      action: 'complete_manually',
      operator: 'sam',
      reason: 'computed offline',
      result: { value: 100 },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ state: 'complete', result: { value: 100 } });
    const done = await tasker.waitForStatus(task.taskUuid, ['complete']);
    // n = 2: start 4, right 16; end = left as given + right.
    expect(done.steps.find((s) => s.name === 'end')!.result).toEqual({ value: 116 });
  });

  it('resolves a step by hand: dependents run, and nothing of it is re-run', async () => {
    const { task, left } = await failedDiamond();
    const reply = await act(task.taskUuid, left, {
      action: 'resolve_manually',
      operator: 'sam',
      reason: 'not needed today',
    });
    expect(reply.body.state).toBe('resolved_manually');
    const ended = await tasker.waitForStatus(task.taskUuid, ['complete', 'error']);
    // examples.sum needs a value from every parent: a resolved parent gave none.
    expect(ended.status).toBe('error');
    expect(ended.steps.find((s) => s.name === 'end')!.state).toBe('error');
  });

  it.each<[string, Record<string, unknown>, number, RegExp]>([
    [
      'an unknown action',
      { action: 'retry', operator: 'a', reason: 'b' },
      400,
      /action must be one of/,
    ],
    ['no operator', { action: 'reset_for_retry', reason: 'b' }, 400, /operator/],
    ['an empty reason', { action: 'reset_for_retry', operator: 'a', reason: '' }, 400, /reason/],
    [
      'complete without result',
      { action: 'complete_manually', operator: 'a', reason: 'b' },
      400,
      /result is required/,
    ],
    [
      'a result on reset',
      { action: 'reset_for_retry', operator: 'a', reason: 'b', result: 1 },
      400,
      /only accepted with complete_manually/,
    ],
    [
      'an unknown field',
      { action: 'reset_for_retry', operator: 'a', reason: 'b', force: true },
      400,
      /property force should not exist/,
    ],
  ])('refuses %s and changes nothing', async (_case, body, status, message) => {
    const { task, left } = await failedDiamond();
    const before = await tasker.request<StepDetailView>(
      'GET',
      `/v1/tasks/${task.taskUuid}/steps/${left}`,
    );
    const reply = await act(task.taskUuid, left, body);
    expect(reply.status).toBe(status);
    expect(JSON.stringify(reply.body)).toMatch(message);
    const after = await tasker.request<StepDetailView>(
      'GET',
      `/v1/tasks/${task.taskUuid}/steps/${left}`,
    );
    expect(after.body.transitions).toHaveLength(before.body.transitions.length);
    expect((await tasker.task(task.taskUuid)).status).toBe('error');
  });

  it('answers 409 where an action does not apply, and 404/400 for unknown or malformed ids', async () => {
    broken = false;
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 1000 },
    });
    const done = await tasker.waitForStatus(taskUuid, ['complete']);
    const start = done.steps.find((s) => s.name === 'start')!.stepUuid;
    const reset = await act(taskUuid, start, {
      action: 'reset_for_retry',
      operator: 'a',
      reason: 'b',
    });
    expect(reset.status).toBe(409);
    expect(reset.body).toMatchObject({ message: expect.stringMatching(/ended as complete/) });

    const other = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 1001 },
    });
    expect(
      (await act(other, start, { action: 'resolve_manually', operator: 'a', reason: 'b' })).status,
    ).toBe(404);
    expect(
      (
        await tasker.request(
          'GET',
          `/v1/tasks/${taskUuid}/steps/0190a8a4-1111-7000-8000-000000000000`,
        )
      ).status,
    ).toBe(404);
    expect((await tasker.request('GET', `/v1/tasks/${taskUuid}/steps/nope`)).status).toBe(400);
  });

  it('answers 409 with the current state and writes nothing when a worker moves the step first', async () => {
    broken = false;
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: HELD_N },
    });
    const running = await pollUntil(
      () => tasker.task(taskUuid),
      (task) => task.steps.find((s) => s.name === 'left')?.state === 'in_progress',
      { description: 'left to be in its handler' },
    );
    const left = running.steps.find((s) => s.name === 'left')!.stepUuid;

    // A worker recording its result: it holds the step row while the operator's action runs.
    const workerTx = await tasker.pool.connect();
    try {
      await workerTx.query('BEGIN');
      const { rows } = await workerTx.query<{ pid: number }>(
        `SELECT pg_backend_pid() AS pid FROM tasker.workflow_steps
          WHERE workflow_step_uuid = $1 FOR UPDATE`,
        [left],
      );
      const pid = rows[0]!.pid;
      const reply = act(taskUuid, left, {
        action: 'complete_manually',
        operator: 'sam',
        reason: 'took too long',
        result: { value: -1 },
      });
      // The action waits behind the worker for the step's lock, then reads what it recorded.
      await pollUntil(
        async () =>
          (
            await tasker.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`,
              [pid],
            )
          ).rows[0]!.n,
        (n) => n > 0,
        { description: 'the operator action to wait for the worker' },
      );
      expect(
        await recordStepRuns(
          workerTx,
          [
            {
              stepUuid: left,
              attempt: 1,
              outcome: { kind: 'success', result: { value: 'from the worker' } },
            },
          ],
          randomUUID(),
        ),
      ).toEqual([true]);
      await workerTx.query('COMMIT');

      const refused = await reply;
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({
        error: 'conflict',
        details: { state: 'enqueued_for_orchestration' },
      });
    } finally {
      await workerTx.query('ROLLBACK');
      workerTx.release();
      release();
    }
    const step = await tasker.request<StepDetailView>('GET', `/v1/tasks/${taskUuid}/steps/${left}`);
    expect(step.body.result).toEqual({ value: 'from the worker' });
    expect(step.body.transitions.map((t) => t.toState)).toEqual([
      'pending',
      'enqueued',
      'in_progress',
      'enqueued_for_orchestration',
    ]);
  });
});
