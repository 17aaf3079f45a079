import { Injectable } from '@nestjs/common';
import { MessageBus } from '#core';
import { ConsumedQueues } from './transport/consumed-queues.js';

/** A reading is served this long after it settled; only then does a caller start another. */
export const QUEUE_DEPTH_MAX_AGE_MS = 5000;

interface Reading {
  depths: Promise<ReadonlyMap<string, number>>;
  /** When the read finished (either way); undefined while it runs. */
  settledAt?: number;
}

/**
 * Queue depths for /metrics, /health/detailed and backpressure, which anyone may call at any
 * rate: one read of every queue this process consumes or watches, shared by all callers while
 * it runs and served to them for QUEUE_DEPTH_MAX_AGE_MS after (a failed read too, so a slow or
 * broken broker is not asked again by every caller). The adapter reads them in one round trip
 * where it can, off the hot path's connections.
 */
@Injectable()
export class QueueDepths {
  private readonly watched = new Set<string>();
  private last: Reading | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly consumed: ConsumedQueues,
  ) {}

  /** Also read these (queues this process sends to but does not consume). */
  watch(queues: readonly string[]): void {
    for (const queue of queues) this.watched.add(queue);
  }

  /** Depths by queue; a queue that does not exist is absent. */
  read(): Promise<ReadonlyMap<string, number>> {
    const last = this.last;
    if (
      last &&
      (last.settledAt === undefined || Date.now() - last.settledAt < QUEUE_DEPTH_MAX_AGE_MS)
    ) {
      return last.depths;
    }
    const reading: Reading = {
      depths: this.bus.depths([...new Set([...this.consumed.list(), ...this.watched])].sort()),
    };
    const settled = () => {
      reading.settledAt = Date.now();
    };
    reading.depths.then(settled, settled);
    this.last = reading;
    return reading.depths;
  }
}
