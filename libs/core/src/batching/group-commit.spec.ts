import { GroupCommit } from './group-commit.js';

/** A flush whose calls are recorded and that each finish when the test says so. */
function gatedFlush<I, O>(answer: (item: I) => O) {
  const calls: I[][] = [];
  const gates: (() => void)[] = [];
  const flush = async (items: readonly I[]): Promise<O[]> => {
    calls.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map(answer);
  };
  const open = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { calls, flush, open };
}

describe('GroupCommit', () => {
  it('flushes a lone item at once, without waiting for company', async () => {
    const flushed: number[][] = [];
    const committer = new GroupCommit<number, number>(
      (items) => {
        flushed.push([...items]);
        return Promise.resolve(items.map((n) => n * 10));
      },
      { maxBatch: 10 },
    );
    await expect(committer.submit(4)).resolves.toBe(40);
    expect(flushed).toEqual([[4]]);
  });

  it('writes items submitted together in one flush, and answers each its own output', async () => {
    const flushed: string[][] = [];
    const committer = new GroupCommit<string, string>(
      (items) => {
        flushed.push([...items]);
        return Promise.resolve(items.map((s) => s.toUpperCase()));
      },
      { maxBatch: 10 },
    );
    const outputs = await Promise.all(['a', 'b', 'c'].map((s) => committer.submit(s)));
    expect(outputs).toEqual(['A', 'B', 'C']);
    expect(flushed).toEqual([['a', 'b', 'c']]);
  });

  it('gathers what arrives during a flush into the next one, at most maxBatch per flush', async () => {
    const { calls, flush, open } = gatedFlush<number, number>((n) => n + 1);
    const committer = new GroupCommit(flush, { maxBatch: 3 });
    const first = committer.submit(0);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[0]]);
    const later = [1, 2, 3, 4, 5].map((n) => committer.submit(n));
    // Nothing more is written while the first flush is in flight.
    expect(calls).toHaveLength(1);
    await open();
    await expect(first).resolves.toBe(1);
    await open();
    await open();
    await expect(Promise.all(later)).resolves.toEqual([2, 3, 4, 5, 6]);
    expect(calls).toEqual([[0], [1, 2, 3], [4, 5]]);
    await committer.drained();
    expect(committer.pending).toBe(0);
  });

  it('with isolateFailures, retries a failed batch item by item so one bad item fails alone', async () => {
    const flushed: number[][] = [];
    const committer = new GroupCommit<number, number>(
      (items) => {
        flushed.push([...items]);
        if (items.includes(13)) return Promise.reject(new Error('13 is refused'));
        return Promise.resolve(items.map((n) => n * 2));
      },
      { maxBatch: 10, isolateFailures: true },
    );
    const outcomes = await Promise.allSettled([1, 13, 3].map((n) => committer.submit(n)));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('13 is refused') },
      { status: 'fulfilled', value: 6 },
    ]);
    expect(flushed).toEqual([[1, 13, 3], [1], [13], [3]]);
  });

  it('without isolateFailures, fails every caller of the failed flush and goes on with the next', async () => {
    let fail = true;
    const committer = new GroupCommit<number, number>(
      (items) => {
        if (fail) {
          fail = false;
          return Promise.reject(new Error('connection lost'));
        }
        return Promise.resolve([...items]);
      },
      { maxBatch: 10 },
    );
    const outcomes = await Promise.allSettled([1, 2].map((n) => committer.submit(n)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    await expect(committer.submit(3)).resolves.toBe(3);
  });

  it('refuses a flush that answers a different number of outputs than items', async () => {
    const committer = new GroupCommit<number, number>(() => Promise.resolve([1]), {
      maxBatch: 10,
    });
    const outcomes = await Promise.allSettled([1, 2].map((n) => committer.submit(n)));
    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('a flush of 2 items answered 1 outputs') },
      { status: 'rejected', reason: new Error('a flush of 2 items answered 1 outputs') },
    ]);
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => new GroupCommit(() => Promise.resolve([]), { maxBatch: 0 })).toThrow(
      'maxBatch must be a positive integer, got 0',
    );
  });
});
