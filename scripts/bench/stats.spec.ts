import { parseRunLine, formatRunLine } from './handler-run.js';
import { parseBenchArgs } from './settings.js';
import { percentile, summarize } from './stats.js';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles: always a sample, never an interpolation', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(() => percentile([], 50)).toThrow('no samples');
    expect(() => percentile([1], 0)).toThrow('percentile');
  });

  it('summarizes unsorted samples', () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual({
      count: 5,
      p50: 3,
      p95: 5,
      p99: 5,
      max: 5,
      mean: 3,
    });
  });

  it('round-trips a handler run line and ignores log lines', () => {
    const run = { key: 'chain3', step: 'step_02', t0: 1234.5, t1: 1235.25 };
    expect(parseRunLine(formatRunLine(run))).toEqual(run);
    expect(parseRunLine('{"level":40,"msg":"@bench"}')).toBeNull();
    expect(parseRunLine('@bench chain3 step_02 x 1')).toBeNull();
  });

  it('parses the command line, refusing unknown names', () => {
    const quick = parseBenchArgs(['--quick', '--only', 'latency,idle', '--systems', 'pg-boss']);
    expect(quick).toMatchObject({
      quick: true,
      scenarios: ['latency', 'idle'],
      systems: ['pg-boss'],
    });
    expect(parseBenchArgs([])).toMatchObject({ quick: false, backlogSingle: 20000 });
    expect(parseBenchArgs(['--help'])).toBe('help');
    expect(() => parseBenchArgs(['--only', 'speed'])).toThrow('unknown speed');
    expect(() => parseBenchArgs(['--fast'])).toThrow('unknown argument --fast');
  });
});
