import { parseRunLine, formatRunLine } from './handler-run.js';
import { parseBenchArgs } from './settings.js';
import { completionRate, edgeRates, percentile, summarize } from './stats.js';

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

  it('takes a completion rate over the time between two completions', () => {
    const times = [1000, 1010, 1020, 1030, 1040, 1050];
    expect(completionRate(times, 0, 5)).toBe(100);
    expect(completionRate(times, 1, 3)).toBe(100);
    expect(() => completionRate(times, 3, 3)).toThrow('no completions from 3 to 3');
    expect(() => completionRate(times, 0, 6)).toThrow('no completions');
    expect(() => completionRate([5, 5], 0, 1)).toThrow('not apart in time');
  });

  it('compares the first and the last tenth of a drain', () => {
    // 100 completions: 10 ms apart for the first half, 20 ms apart after.
    const times = Array.from({ length: 100 }, (_, i) => (i < 50 ? i * 10 : 490 + (i - 49) * 20));
    // Tenths of 10 completions: 9 intervals each.
    expect(edgeRates(times, 0.1)).toEqual({ first: 100, last: 50 });
    // Rounded up, and never fewer than two completions.
    expect(edgeRates([0, 10, 20, 40, 60], 0.1)).toEqual({ first: 100, last: 50 });
    expect(edgeRates([0, 10, 30], 0.5)).toEqual({ first: 100, last: 50 });
    expect(edgeRates([0, 10], 1)).toEqual({ first: 100, last: 100 });
    expect(() => edgeRates([0], 0.1)).toThrow('1 completions are too few');
    expect(() => edgeRates(times, 0)).toThrow('fraction');
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
    expect(parseBenchArgs([])).toMatchObject({
      quick: false,
      backlogSingle: 20000,
      longDrainTasks: 100000,
    });
    expect(
      parseBenchArgs(['--only', 'long-drain,scaling,transition-load', '--quick']),
    ).toMatchObject({
      // In the order they run, whatever the order given.
      scenarios: ['transition-load', 'scaling', 'long-drain'],
      longDrainTasks: 2000,
      scaling: [
        { orchestrations: 1, workers: 2 },
        { orchestrations: 2, workers: 2 },
        { orchestrations: 1, workers: 4 },
        { orchestrations: 2, workers: 4 },
      ],
    });
    expect(parseBenchArgs(['--help'])).toBe('help');
    expect(() => parseBenchArgs(['--only', 'speed'])).toThrow('unknown speed');
    expect(() => parseBenchArgs(['--fast'])).toThrow('unknown argument --fast');
  });
});
