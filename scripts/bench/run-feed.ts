import type { HandlerRun } from './handler-run.js';

interface Waiter {
  until: () => boolean;
  resolve: () => void;
}

/** The handler runs reported by every worker process of the system being measured. */
export class RunFeed {
  private readonly byKey = new Map<string, HandlerRun[]>();
  private readonly waiters = new Set<Waiter>();
  /** Runs since the last reset, and the earliest start / latest return among them. */
  count = 0;
  firstStart = Infinity;
  lastEnd = -Infinity;

  push(run: HandlerRun): void {
    let runs = this.byKey.get(run.key);
    if (!runs) this.byKey.set(run.key, (runs = []));
    runs.push(run);
    this.count += 1;
    this.firstStart = Math.min(this.firstStart, run.t0);
    this.lastEnd = Math.max(this.lastEnd, run.t1);
    for (const waiter of this.waiters) {
      if (waiter.until()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  runs(key: string): HandlerRun[] {
    return this.byKey.get(key) ?? [];
  }

  reset(): void {
    this.byKey.clear();
    this.count = 0;
    this.firstStart = Infinity;
    this.lastEnd = -Infinity;
  }

  /** Resolves once `key` has `n` runs. */
  waitForKey(key: string, n: number, timeoutMs: number): Promise<HandlerRun[]> {
    return this.waitUntil(() => this.runs(key).length >= n, timeoutMs, `${n} runs of ${key}`).then(
      () => this.runs(key),
    );
  }

  /** Resolves once `n` runs were reported since the last reset. */
  waitForCount(n: number, timeoutMs: number, onTick?: () => void): Promise<void> {
    const ticker = onTick ? setInterval(onTick, 1000) : undefined;
    return this.waitUntil(() => this.count >= n, timeoutMs, `${n} runs`).finally(() =>
      clearInterval(ticker),
    );
  }

  private waitUntil(until: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.count} so far)`),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        until,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(waiter);
    });
  }
}
