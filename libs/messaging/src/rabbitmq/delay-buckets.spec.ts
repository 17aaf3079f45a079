import { delayBucketMs, delayQueueArguments } from './delay-buckets.js';

describe('delay buckets', () => {
  it.each([
    [1, 10],
    [10, 10],
    [11, 11],
    [99, 99],
    [101, 110],
    [250, 250],
    [1001, 1100],
    [31_000, 31_000],
    [31_001, 32_000],
    [3_723_000, 3_800_000],
  ])('rounds %i ms up to the %i ms bucket', (delay, bucket) => {
    expect(delayBucketMs(delay)).toBe(bucket);
  });

  it('is never early and at most 10% late', () => {
    for (let delay = 1; delay < 2_000_000; delay = Math.ceil(delay * 1.37)) {
      const bucket = delayBucketMs(delay);
      expect(bucket).toBeGreaterThanOrEqual(delay);
      if (delay >= 10) expect(bucket).toBeLessThanOrEqual(delay * 1.1);
    }
  });

  it('keeps a bucket queue alive well past the TTL of its last message', () => {
    const { args, expiresMs } = delayQueueArguments(5000);
    expect(args['x-message-ttl']).toBe(5000);
    expect(expiresMs / 2).toBeGreaterThan(5000);
  });
});
