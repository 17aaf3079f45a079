import { createEnvelope, parseEnvelope } from './messages.js';

const TASK = '01936f4e-8d2a-7c4b-9e1f-0a1b2c3d4e5f';

function resultWith(payload: Record<string, unknown>): unknown {
  return {
    ...createEnvelope(
      'step.result.v1',
      { taskUuid: TASK, stepUuid: TASK, attempt: 1, outcome: 'success' },
      { correlationId: TASK },
    ),
    payload: { taskUuid: TASK, stepUuid: TASK, attempt: 1, outcome: 'success', ...payload },
  };
}

describe('parseEnvelope', () => {
  it('accepts a well-formed message, UUIDs in either case', () => {
    expect(parseEnvelope(resultWith({})).ok).toBe(true);
    expect(parseEnvelope(resultWith({ stepUuid: TASK.toUpperCase() })).ok).toBe(true);
  });

  it.each([
    ['36 hex digits and no dashes', '0123456789abcdef0123456789abcdef0123'],
    ['36 dashes', '-'.repeat(36)],
    ['dashes in the wrong places', '0123-4567-89ab-cdef-0123-456789abcde'],
    ['a UUID with a trailing newline', `${TASK}\n`],
  ])('rejects a taskUuid that is no UUID (%s): dead-lettered, not retried', (_what, value) => {
    const parsed = parseEnvelope(resultWith({ taskUuid: value }));
    expect(parsed).toEqual({
      ok: false,
      error: expect.stringContaining('payload/taskUuid must match pattern') as unknown,
    });
  });
});
