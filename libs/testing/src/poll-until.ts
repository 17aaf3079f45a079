import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /**
   * Shown when the condition never holds, with the last value seen; a function is called
   * then, so it can report state at the deadline (an app's latest log lines).
   */
  description?: string | (() => string);
}

/**
 * Calls `probe` until `done(value)` holds and returns that value; fails with the last value
 * when the deadline passes. Tests wait for outcomes this way, never with fixed sleeps.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20000);
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastError instanceof Error ? lastError.message : JSON.stringify(last, null, 2);
      const what =
        typeof options.description === 'function' ? options.description() : options.description;
      throw new Error(`timed out waiting for ${what ?? 'condition'}; last seen: ${seen}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}
