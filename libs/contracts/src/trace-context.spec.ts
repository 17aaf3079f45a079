import { traceIdOf, traceparentFor } from './trace-context.js';

describe('trace context', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('reads the trace id of a valid traceparent', () => {
    expect(traceIdOf(valid)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it.each([
    'garbage',
    '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
  ])('ignores an invalid traceparent: %s', (value) => {
    expect(traceIdOf(value)).toBeNull();
    expect(traceparentFor(value)).not.toBe(value);
  });

  it('keeps a valid one and starts a new valid trace otherwise', () => {
    expect(traceparentFor(valid)).toBe(valid);
    const fresh = traceparentFor(undefined);
    expect(traceIdOf(fresh)).not.toBeNull();
    expect(traceparentFor(undefined)).not.toBe(fresh);
  });
});
