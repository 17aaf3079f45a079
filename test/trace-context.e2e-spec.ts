import { traceIdOf } from '#contracts';
import { defineHandler } from '#core';
import { createPinoLogger, PinoNestLogger } from '#observability';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { TaskerHarness } from './support/tasker-harness.js';

/**
 * A traceparent given to POST /v1/tasks travels with every message of the task, and every
 * line logged about it (by orchestration and by the worker) carries its trace id, task,
 * step and correlation id from the log context.
 */
describe('trace context through a task', () => {
  const lines: Record<string, unknown>[] = [];
  /** What the square handler saw: handlers can continue the task's trace. */
  const handlerTraces = new Map<string, string | null>();
  let tasker: TaskerHarness;

  beforeAll(async () => {
    const capture = {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    };
    const logger = new PinoNestLogger(
      createPinoLogger({ level: 'debug', format: 'json' }, 'tasker-test', capture),
    );
    const handlers = EXAMPLE_HANDLERS.map((h) =>
      h.name === 'examples.square'
        ? defineHandler(h.name, (ctx) => {
            handlerTraces.set(ctx.stepUuid, ctx.traceparent);
            return h.run(ctx);
          })
        : h,
    );
    tasker = await TaskerHarness.start({ logger, handlers });
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  async function submit(traceparent?: string) {
    const response = await fetch(`${tasker.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(traceparent ? { traceparent } : {}),
      },
      body: JSON.stringify({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 2 },
        idempotencyKey: `trace-${Math.random()}`,
      }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { taskUuid: string; traceparent: string };
    expect(response.headers.get('traceparent')).toBe(body.traceparent);
    return body;
  }

  it('carries the caller trace to every step and result, in the logs of both apps', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { taskUuid, traceparent: echoed } = await submit(traceparent);
    expect(echoed).toBe(traceparent);
    const task = await tasker.waitForStatus(taskUuid, ['complete']);
    const { rows } = await tasker.pool.query<{ traceparent: string }>(
      'SELECT traceparent FROM tasker.tasks WHERE task_uuid = $1',
      [taskUuid],
    );
    expect(rows[0]?.traceparent).toBe(traceparent);

    const traced = lines.filter((l) => l.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    const by = (context: string) => traced.filter((l) => l.context === context);
    expect(by('TaskSubmissionService')).toHaveLength(1);
    // Every step ran in the worker and every result was applied in orchestration, each line
    // tagged with the step it was about.
    const stepUuids = task.steps.map((s) => s.stepUuid).sort();
    for (const context of ['StepExecutor', 'StepResultProcessor']) {
      expect(
        by(context)
          .map((l) => l.stepUuid)
          .sort(),
      ).toEqual(stepUuids);
    }
    const squares = task.steps.filter((s) => s.name !== 'end').map((s) => s.stepUuid);
    expect(squares.map((uuid) => handlerTraces.get(uuid))).toEqual(squares.map(() => traceparent));
    for (const line of traced) {
      expect(line).toMatchObject({ taskUuid, correlationId: expect.any(String) });
    }
  });

  it('starts a new trace when the caller sends none or an invalid one', async () => {
    const none = await submit();
    const invalid = await submit('00-zz-bad-01');
    for (const { traceparent } of [none, invalid]) expect(traceIdOf(traceparent)).not.toBeNull();
    expect(invalid.traceparent).not.toBe('00-zz-bad-01');
    expect(none.traceparent).not.toBe(invalid.traceparent);
  });
});
