// How a benchmark handler (ours or a peer's) tells the bench when it ran: one stdout line per
// run, written when the handler returns. A synchronous write to a pipe costs microseconds and
// touches neither the database nor the broker, so the system under test does the same work as
// with any other handler.

/** A handler run: which submission (`key`) and step, when it started and when it returned. */
export interface HandlerRun {
  key: string;
  step: string;
  /** Monotonic milliseconds (see monoMs). */
  t0: number;
  t1: number;
}

const PREFIX = '@bench ';

/**
 * Milliseconds on the system's monotonic clock (CLOCK_MONOTONIC). It is one clock for every
 * process on the machine and no wall-clock adjustment moves it, so a submit time taken in the
 * bench and a start time taken in a worker process subtract exactly.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function formatRunLine(run: HandlerRun): string {
  return `${PREFIX}${run.key} ${run.step} ${run.t0.toFixed(3)} ${run.t1.toFixed(3)}`;
}

/** The run a line reports, or null for any other output (logs). */
export function parseRunLine(line: string): HandlerRun | null {
  if (!line.startsWith(PREFIX)) return null;
  const [key, step, t0, t1] = line.slice(PREFIX.length).split(' ');
  if (key === undefined || step === undefined || t0 === undefined || t1 === undefined) return null;
  const start = Number(t0);
  const end = Number(t1);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  return { key, step, t0: start, t1: end };
}

/** Called by a handler as it returns: `t0` is when it started; the return time is now. */
export function reportRun(key: string, step: string, t0: number): void {
  process.stdout.write(`${formatRunLine({ key, step, t0, t1: monoMs() })}\n`);
}
