import type { TaskView } from '#core';
import { defineHandler } from '#core';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { TaskerHarness } from './support/tasker-harness.js';

/**
 * Handlers that misbehave: each must end its step in a clear error, not kill, wedge or
 * crash-loop the worker. examples/sleep allows one attempt with a 5 s timeout.
 */
const misbehaving = defineHandler('examples.sleep', (ctx) => {
  switch (ctx.context.mode) {
    case 'hang':
      // Ignores its abort signal: only the executor's own timeout ends it.
      return new Promise(() => undefined);
    case 'throw-string':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the fault under test
      throw 'disk on fire';
    case 'throw-object':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the fault under test
      throw { code: 'E_FAIL', retry: false };
    case 'bigint':
      return { total: 10n };
    case 'nul-in-result':
      // JSON allows it; PostgreSQL's jsonb does not.
      return { rows: [{ id: 1 }, { id: 2, name: 'nul\u0000byte' }] };
    case 'lone-surrogate-key':
      return { labels: { ['half \ud83d']: true } };
    case 'nul-in-error':
      throw new Error('could not parse "nul\u0000byte \ud83d"');
    case 'circular': {
      const node: Record<string, unknown> = { name: 'loop' };
      node.self = node;
      return node;
    }
    default:
      return { ok: true };
  }
});

describe('misbehaving handlers', () => {
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      handlers: [...EXAMPLE_HANDLERS.filter((h) => h.name !== 'examples.sleep'), misbehaving],
    });
  });

  afterAll(async () => {
    await tasker.stop();
  });

  async function run(mode: string): Promise<TaskView> {
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'sleep',
      context: { sleepMs: 0, mode },
    });
    return tasker.waitForStatus(taskUuid, ['complete', 'error'], 30000);
  }

  it.each<[string, Record<string, unknown>]>([
    ['hang', { errorClass: 'Error', message: 'step nap timed out after 5s', timedOut: true }],
    [
      'throw-string',
      {
        errorClass: 'NonErrorThrown',
        message: 'the handler threw a non-Error value: "disk on fire"',
      },
    ],
    [
      'throw-object',
      {
        errorClass: 'NonErrorThrown',
        message: 'the handler threw a non-Error value: {"code":"E_FAIL","retry":false}',
      },
    ],
    [
      'bigint',
      {
        errorClass: 'ResultNotSerializable',
        message: expect.stringMatching(/not JSON-serialisable: .*BigInt/) as unknown,
        permanent: true,
      },
    ],
    [
      'circular',
      {
        errorClass: 'ResultNotSerializable',
        message: expect.stringMatching(/not JSON-serialisable: .*circular/i) as unknown,
        permanent: true,
      },
    ],
    [
      'nul-in-result',
      {
        errorClass: 'ResultNotStorable',
        message:
          'the handler returned a value PostgreSQL cannot store as JSON: the string at $.rows[1].name contains U+0000 (NUL)',
        permanent: true,
      },
    ],
    [
      'lone-surrogate-key',
      {
        errorClass: 'ResultNotStorable',
        message:
          'the handler returned a value PostgreSQL cannot store as JSON: a key of the object at $.labels contains an unpaired surrogate (U+D83D)',
        permanent: true,
      },
    ],
    [
      'nul-in-error',
      // The error is kept, with what jsonb cannot hold written out as escapes.
      { errorClass: 'Error', message: 'could not parse "nul\\u0000byte \\ud83d"' },
    ],
  ])('a handler that does %s ends its step in a clear error', async (mode, error) => {
    const task = await run(mode);
    expect(task.status).toBe('error');
    // On its first run: an error PostgreSQL refused to store is not left to the step timeout.
    expect(task.steps[0]).toMatchObject({ state: 'error', attempts: 1, error });
  });

  it('leaves the worker healthy and working afterwards', async () => {
    expect((await run('fine')).status).toBe('complete');
    const live = await fetch(`${tasker.workerUrl}/health/ready`);
    expect(live.status).toBe(200);
  });
});
