/**
 * RabbitMQ has no per-message delay without a plugin, and a per-message TTL in one queue blocks
 * behind its head. So a delay goes to a bucket: a queue whose every message has the same TTL
 * (so expiry order is FIFO order) and that dead-letters into the default exchange, which routes
 * by the original routing key, the target queue. Delays round up to two significant digits
 * (at most 10% late, never early), and idle buckets expire, so the set of buckets stays small.
 */

const MIN_BUCKET_MS = 10;

export function delayBucketMs(delayMs: number): number {
  const ms = Math.max(MIN_BUCKET_MS, Math.ceil(delayMs));
  const scale = 10 ** Math.max(0, Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / scale) * scale;
}

export function delayExchangeName(bucketMs: number): string {
  return `tasker.delay.${bucketMs}`;
}

/**
 * Queue arguments of a bucket. `x-expires` only counts time without consumers or re-declares,
 * and outlives the TTL by a wide margin; the adapter re-declares before half of it has passed.
 */
export function delayQueueArguments(bucketMs: number): {
  args: Record<string, unknown>;
  expiresMs: number;
} {
  const expiresMs = bucketMs * 2 + 60000;
  return {
    args: {
      'x-message-ttl': bucketMs,
      'x-dead-letter-exchange': '',
      'x-expires': expiresMs,
    },
    expiresMs,
  };
}
