import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MessageBus } from '#core';

/** Readiness: the broker in use (PGMQ's queues or RabbitMQ) answers a round trip in time. */
@Injectable()
export class BrokerHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly bus: MessageBus,
  ) {}

  check(timeoutMs: number) {
    return this.indicators
      .check('broker')
      .attempt(async () => {
        await this.bus.ping();
      })
      .withTimeout(timeoutMs);
  }
}
