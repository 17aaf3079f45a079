import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import { workerQueueName } from '#contracts';
import { QueueDepths } from '#messaging';

/** What a refused client is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Refuses new tasks for a namespace while its worker queue holds more than
 * TASKER_MAX_QUEUE_DEPTH messages, so a backlog stops growing instead of timing out later.
 * Depths come from QueueDepths (submissions must not each count a big queue), which reads the
 * worker queues of the registered namespaces (TemplateRegistrationService watches them).
 */
@Injectable()
export class Backpressure {
  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly depths: QueueDepths,
  ) {}

  /** Null when the namespace accepts work, else why not. */
  async refusal(namespace: string): Promise<string | null> {
    const limit = this.config.maxQueueDepth;
    if (limit === 0) return null;
    // An unknown namespace has no queue: the submission itself answers that with a 404.
    const depths = await this.depths.read().catch(() => null);
    const depth = depths?.get(workerQueueName(namespace));
    if (depth === undefined || depth <= limit) return null;
    return `namespace ${namespace} has ${depth} steps waiting (limit ${limit}); retry later`;
  }
}
