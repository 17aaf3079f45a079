import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import { workerQueueName } from '#contracts';
import { MessageBus } from '#core';

/** Depth readings are reused this long: submissions must not each count a big queue. */
const DEPTH_CACHE_MS = 1000;
/** What a refused client is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Refuses new tasks for a namespace while its worker queue holds more than
 * TASKER_MAX_QUEUE_DEPTH messages, so a backlog stops growing instead of timing out later.
 */
@Injectable()
export class Backpressure {
  private readonly depths = new Map<string, { depth: number; at: number }>();

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly bus: MessageBus,
  ) {}

  /** Null when the namespace accepts work, else why not. */
  async refusal(namespace: string): Promise<string | null> {
    const limit = this.config.maxQueueDepth;
    if (limit === 0) return null;
    const depth = await this.depth(namespace);
    if (depth === null || depth <= limit) return null;
    return `namespace ${namespace} has ${depth} steps waiting (limit ${limit}); retry later`;
  }

  private async depth(namespace: string): Promise<number | null> {
    const cached = this.depths.get(namespace);
    if (cached && Date.now() - cached.at < DEPTH_CACHE_MS) return cached.depth;
    // An unknown namespace has no queue: the submission itself answers that with a 404.
    const depth = await this.bus.depth(workerQueueName(namespace)).catch(() => null);
    if (depth !== null) this.depths.set(namespace, { depth, at: Date.now() });
    return depth;
  }
}
