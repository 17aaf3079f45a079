import type { DlqEntryDetailView, DlqPage, DlqStats, StepDetailView } from '#core';
import { defineHandler } from '#core';
import { recordStepRuns } from '#persistence';
import { pollUntil } from '#testing';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { StalenessDetector } from '../apps/orchestration/src/services/staleness-detector.service.js';
import { TaskerHarness } from './support/tasker-harness.js';

/** `left` (and `right`) of a diamond hang (until their run is aborted) when the context asks. */
const handlers = [
  ...EXAMPLE_HANDLERS.filter((h) => h.name !== 'examples.square'),
  defineHandler('examples.square', (ctx) => {
    if (
      (ctx.context.hangLeft === true && ctx.stepName === 'left') ||
      (ctx.context.hangRight === true && ctx.stepName === 'right')
    ) {
      return new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => resolve({ value: 0 }));
      });
    }
    const parent = Object.values(ctx.dependencyResults)[0] as { value: number } | undefined;
    const x = parent?.value ?? (ctx.context.n as number);
    return { value: x * x };
  }),
];

const minutesFromNow = (m: number) => new Date(Date.now() + m * 60_000);
/** A worker of the tests' own, recording runs straight into the database. */
const TEST_WORKER = '0190a0a0-0000-7000-8000-0000000057a1';

describe('staleness detection and the DLQ', () => {
  let tasker: TaskerHarness;
  let detector: StalenessDetector;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      handlers,
      // The periodic detection stays out of the way; the test drives it with its own clock.
      env: { TASKER_STALENESS_INTERVAL_MS: '86400000', TASKER_SHUTDOWN_GRACE_MS: '500' },
    });
    detector = tasker.orchestration.get(StalenessDetector);
  });

  afterAll(async () => {
    await tasker.stop();
  });

  async function hangingDiamond(n: number): Promise<string> {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n, hangLeft: true },
    });
    await tasker.waitForStatus(taskUuid, ['waiting_for_dependencies']);
    return taskUuid;
  }

  it('moves a task stuck past its template threshold to error, once, with a DLQ entry', async () => {
    const taskUuid = await hangingDiamond(1);
    // diamond.yaml sets waiting_for_dependencies_minutes: 30 (the default is 60).
    expect(await detector.detect(minutesFromNow(20))).toEqual([]);
    const later = minutesFromNow(31);
    const [first, second] = await Promise.all([detector.detect(later), detector.detect(later)]);
    expect([...first, ...second]).toEqual([
      expect.objectContaining({
        taskUuid,
        reason: 'stale_waiting_for_dependencies',
        thresholdMinutes: 30,
      }),
    ]);
    expect((await tasker.task(taskUuid)).status).toBe('error');

    const page = await tasker.request<DlqPage>('GET', '/v1/dlq?status=pending');
    expect(page.body.items).toEqual([
      expect.objectContaining({
        taskUuid,
        namespace: 'examples',
        name: 'diamond',
        originalState: 'waiting_for_dependencies',
        taskStatus: 'error',
        resolutionStatus: 'pending',
      }),
    ]);
    const entry = await tasker.request<DlqEntryDetailView>(
      'GET',
      `/v1/dlq/${page.body.items[0]!.dlqEntryUuid}`,
    );
    const steps = (entry.body.snapshot as { steps: { name: string; state: string }[] }).steps;
    expect(Object.fromEntries(steps.map((s) => [s.name, s.state]))).toEqual({
      start: 'complete',
      left: 'in_progress',
      right: 'complete',
      end: 'pending',
    });
    const { rows } = await tasker.pool.query<{ metadata: Record<string, unknown> }>(
      `SELECT metadata FROM tasker.task_transitions WHERE task_uuid = $1 AND most_recent`,
      [taskUuid],
    );
    expect(rows[0]!.metadata).toMatchObject({ reason: 'stale_waiting_for_dependencies' });
  });

  it('lets an operator resolve the stuck step and the entry, and the task completes', async () => {
    const page = await tasker.request<DlqPage>(
      'GET',
      '/v1/dlq?reason=stale_waiting_for_dependencies',
    );
    const { taskUuid, dlqEntryUuid } = page.body.items[0]!;
    const task = await tasker.task(taskUuid);
    const left = task.steps.find((s) => s.name === 'left')!;
    const fixed = await tasker.request<StepDetailView>(
      'PATCH',
      `/v1/tasks/${taskUuid}/steps/${left.stepUuid}`,
      {
        action: 'complete_manually',
        operator: 'ops',
        reason: 'hung; value known',
        result: { value: 1 },
      },
    );
    expect(fixed.status).toBe(200);
    await tasker.waitForStatus(taskUuid, ['complete']);

    const resolved = await tasker.request<DlqEntryDetailView>('PATCH', `/v1/dlq/${dlqEntryUuid}`, {
      resolutionStatus: 'manually_resolved',
      resolutionNotes: 'completed left by hand',
      resolvedBy: 'ops',
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      resolutionStatus: 'manually_resolved',
      resolvedBy: 'ops',
      taskStatus: 'complete',
    });
    expect(resolved.body.resolvedAt).not.toBeNull();
  });

  it('gives up on a task alive past its lifetime, and never on a finished one', async () => {
    const hanging = await hangingDiamond(2);
    const finished = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 3 },
    });
    await tasker.waitForStatus(finished, ['complete']);
    const moved = await detector.detect(minutesFromNow(25 * 60));
    expect(moved.map((m) => [m.taskUuid, m.reason])).toEqual([[hanging, 'lifetime_exceeded']]);
    const stats = await pollUntil(
      async () => (await tasker.request<DlqStats>('GET', '/v1/dlq/stats')).body,
      (s) => s.total === 2,
      { timeoutMs: 5000, description: 'two DLQ entries' },
    );
    expect(stats).toMatchObject({
      total: 2,
      byStatus: { pending: 1, manually_resolved: 1 },
      byReason: { stale_waiting_for_dependencies: 1, lifetime_exceeded: 1 },
    });
    expect(stats.oldestPendingSeconds).toEqual(expect.any(Number));
  });

  /** The current state and transition metadata of each step of a task, by name. */
  async function stepStates(taskUuid: string) {
    const { rows } = await tasker.pool.query<{
      name: string;
      state: string;
      metadata: Record<string, unknown>;
    }>(
      `SELECT s.name, st.to_state AS state, st.metadata
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
        WHERE s.task_uuid = $1`,
      [taskUuid],
    );
    return Object.fromEntries(rows.map(({ name, ...rest }) => [name, rest]));
  }

  const stepUuid = async (taskUuid: string, name: string) =>
    (await tasker.task(taskUuid)).steps.find((s) => s.name === name)!.stepUuid;
  /** What a worker does when the hung `left` run of a task finally returns: record success. */
  const finishLeft = async (taskUuid: string) => {
    const [recorded] = await recordStepRuns(
      tasker.pool,
      [
        {
          stepUuid: await stepUuid(taskUuid, 'left'),
          attempt: 1,
          outcome: { kind: 'success', result: { value: 1 } },
        },
      ],
      TEST_WORKER,
    );
    return recorded;
  };

  it('stops the running steps of a task it gives up on: a late result records nothing', async () => {
    const taskUuid = await hangingDiamond(10);
    const moved = await detector.detect(minutesFromNow(31));
    expect(moved.map((m) => m.taskUuid)).toEqual([taskUuid]);
    const steps = await stepStates(taskUuid);
    expect(steps.left).toEqual({
      state: 'error',
      metadata: expect.objectContaining({ reason: 'stale_waiting_for_dependencies' }),
    });
    // Never started: left for a reopening to run.
    expect(steps.end!.state).toBe('pending');
    // The hung run finishing now cannot record: its step is no longer in_progress.
    expect(await finishLeft(taskUuid)).toBe(false);
  });

  it('settles results that arrived while the task was in error once an operator reopens it', async () => {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 12, hangLeft: true, hangRight: true },
    });
    await pollUntil(
      () => tasker.task(taskUuid),
      (task) => task.steps.filter((s) => s.state === 'in_progress').length === 2,
      { timeoutMs: 20000, description: 'left and right running' },
    );
    // left's worker recorded its result, but orchestration had not processed it when the
    // task was given up (e.g. it was down): the result message then finds the task ended.
    const left = await stepUuid(taskUuid, 'left');
    await recordStepRuns(
      tasker.pool,
      [{ stepUuid: left, attempt: 1, outcome: { kind: 'success', result: { value: 5 } } }],
      TEST_WORKER,
    );
    const moved = await detector.detect(minutesFromNow(61));
    expect(moved.map((m) => [m.taskUuid, m.reason])).toEqual([
      [taskUuid, 'stale_steps_in_process'],
    ]);
    expect((await stepStates(taskUuid)).left!.state).toBe('enqueued_for_orchestration');

    const right = await stepUuid(taskUuid, 'right');
    const fixed = await tasker.request<StepDetailView>(
      'PATCH',
      `/v1/tasks/${taskUuid}/steps/${right}`,
      { action: 'complete_manually', operator: 'ops', reason: 'known', result: { value: 7 } },
    );
    expect(fixed.status).toBe(200);
    const done = await tasker.waitForStatus(taskUuid, ['complete']);
    expect(done.steps.find((s) => s.name === 'left')!.state).toBe('complete');
    expect(done.steps.find((s) => s.name === 'end')!.result).toEqual({ value: 12 });
  });

  it('spares a task whose step finished between reading the candidates and taking the lock', async () => {
    const taskUuid = await hangingDiamond(13);
    const [candidate] = (await detector.candidates(minutesFromNow(31))).filter(
      (c) => c.taskUuid === taskUuid,
    );
    expect(candidate).toBeDefined();
    // The worker records left's result (its message to orchestration still on its way): the
    // task's state has not changed, but it is not stuck.
    expect(await finishLeft(taskUuid)).toBe(true);
    expect(await detector.giveUp(candidate!)).toBe(false);
    expect((await tasker.task(taskUuid)).status).toBe('waiting_for_dependencies');
  });

  it.each<[string, string, unknown, number, RegExp]>([
    [
      'an unknown status',
      'PATCH',
      { resolutionStatus: 'fixed' },
      400,
      /resolutionStatus must be one of/,
    ],
    [
      'an unknown field',
      'PATCH',
      { resolutionStatus: 'pending', note: 'x' },
      400,
      /property note should not exist/,
    ],
    [
      'an empty resolver',
      'PATCH',
      { resolutionStatus: 'pending', resolvedBy: '' },
      400,
      /resolvedBy/,
    ],
  ])('refuses %s with %s and changes nothing', async (_case, method, body, status, message) => {
    const page = await tasker.request<DlqPage>('GET', '/v1/dlq');
    const entry = page.body.items[0]!;
    const reply = await tasker.request(method, `/v1/dlq/${entry.dlqEntryUuid}`, body);
    expect(reply.status).toBe(status);
    expect(JSON.stringify(reply.body)).toMatch(message);
    const after = await tasker.request<DlqEntryDetailView>('GET', `/v1/dlq/${entry.dlqEntryUuid}`);
    expect(after.body.updatedAt).toBe(entry.updatedAt);
  });

  it('answers 400 for bad ids and filters, 404 for unknown entries', async () => {
    expect((await tasker.request('GET', '/v1/dlq/nope')).status).toBe(400);
    expect((await tasker.request('GET', '/v1/dlq?status=open')).status).toBe(400);
    const missing = await tasker.request('GET', '/v1/dlq/0190a8a4-1111-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'dlq_entry_not_found' });
  });
});
