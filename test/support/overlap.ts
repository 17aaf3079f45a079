/**
 * The most intervals that overlapped at any moment (an open interval, `end` null, lasts for
 * good; an end and a start at one instant do not overlap): how many slots were held at once.
 */
export function peakOverlap(intervals: readonly { start: number; end: number | null }[]): number {
  const edges = intervals.flatMap((h): [number, number][] => [
    [h.start, 1],
    [h.end ?? Number.POSITIVE_INFINITY, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d));
  return peak;
}
