import { Injectable } from '@nestjs/common';
import { MessageBus } from '#core';
import { ConsumedQueues, QueueDepths } from '#messaging';
import type { ComponentHealth } from './component-health.js';

/** The broker in use (PGMQ's queues or RabbitMQ) answers a round trip. */
@Injectable()
export class BrokerHealth implements ComponentHealth {
  readonly name = 'broker';

  constructor(
    private readonly bus: MessageBus,
    private readonly consumed: ConsumedQueues,
    private readonly depths: QueueDepths,
  ) {}

  async check(detailed: boolean): Promise<Record<string, unknown>> {
    await this.bus.ping();
    const backend = this.bus.status().backend;
    if (!detailed) return { backend };
    const depths = await this.depths.read();
    const queues: Record<string, number | null> = {};
    for (const queue of this.consumed.list()) queues[queue] = depths.get(queue) ?? null;
    return { backend, queues };
  }
}
