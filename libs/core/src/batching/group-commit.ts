/** Writes a batch; answers one output per item, in the items' order. */
export type Flush<I, O> = (items: readonly I[]) => Promise<readonly O[]>;

export interface GroupCommitOptions {
  /** Most items one flush takes; the rest wait for the next flush. */
  maxBatch: number;
  /**
   * When a flush of several items fails, flush each of them alone, so one bad item fails only
   * its own caller. Off: every caller of the failed flush gets its error.
   */
  isolateFailures?: boolean;
}

interface Pending<I, O> {
  item: I;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit (write-behind) for a hot path: callers submit one item each and wait for its
 * output; items are written in batches, one flush at a time. A submit to an idle committer
 * flushes at once (on the next turn of the event loop, so that items submitted together go
 * together); items submitted while a flush is in flight are gathered and flushed together as
 * soon as it returns, at most `maxBatch` per flush. A lone caller never waits for company;
 * under load, the round trips per item fall with the batch size.
 */
export class GroupCommit<I, O> {
  private queue: Pending<I, O>[] = [];
  private flushing = false;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly flush: Flush<I, O>,
    private readonly options: GroupCommitOptions,
  ) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    }
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting or being written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once every item submitted so far has been flushed (or has failed). */
  drained(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      await this.write(batch);
    }
    this.flushing = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private async write(batch: Pending<I, O>[]): Promise<void> {
    try {
      settle(batch, await this.flushChecked(batch));
    } catch (err) {
      if (!this.options.isolateFailures || batch.length === 1) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      for (const pending of batch) {
        try {
          settle([pending], await this.flushChecked([pending]));
        } catch (alone) {
          pending.reject(alone);
        }
      }
    }
  }

  private async flushChecked(batch: Pending<I, O>[]): Promise<readonly O[]> {
    const outputs = await this.flush(batch.map((p) => p.item));
    if (outputs.length !== batch.length) {
      throw new Error(`a flush of ${batch.length} items answered ${outputs.length} outputs`);
    }
    return outputs;
  }
}

function settle<I, O>(batch: Pending<I, O>[], outputs: readonly O[]): void {
  batch.forEach((pending, i) => pending.resolve(outputs[i]!));
}
