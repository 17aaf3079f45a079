/** A latency distribution in milliseconds. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile of ascending `sorted`: the smallest sample with at least `p`% of
 * the samples at or below it. Always one of the samples, never an interpolation.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1]!;
}

export function summarize(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
  };
}

/**
 * Completions per second between the completions `from` and `to` of `times` (ascending ms):
 * the `to - from` completions after the first over the time they took.
 */
export function completionRate(times: readonly number[], from: number, to: number): number {
  const start = times[from];
  const end = times[to];
  if (start === undefined || end === undefined || to <= from) {
    throw new Error(`no completions from ${from} to ${to} among ${times.length}`);
  }
  if (end <= start) throw new Error(`completions ${from} to ${to} are not apart in time`);
  return ((to - from) * 1000) / (end - start);
}

/**
 * Completions per second over the first and the last `fraction` of `times` (ascending ms, one
 * step each): whether a drain slows down as the history behind it grows.
 */
export function edgeRates(
  times: readonly number[],
  fraction: number,
): { first: number; last: number } {
  if (!(fraction > 0 && fraction <= 1))
    throw new Error(`fraction must be in (0, 1], got ${fraction}`);
  const n = times.length;
  const size = Math.max(2, Math.ceil(n * fraction));
  if (size > n) throw new Error(`${n} completions are too few to take a rate`);
  return {
    first: completionRate(times, 0, size - 1),
    last: completionRate(times, n - size, n - 1),
  };
}
