import { Injectable } from '@nestjs/common';
import { MessageBus } from '#core';
import type { ComponentHealth } from './component-health.js';

/**
 * How this process learns about messages: listening or polling. Down only when notices are
 * its sole source and their connection is not up (EventDrivenOnly); polling and pushing
 * replicas keep working while a notify connection reconnects.
 */
@Injectable()
export class EventSourceHealth implements ComponentHealth {
  readonly name = 'events';

  constructor(private readonly bus: MessageBus) {}

  check(): Promise<Record<string, unknown>> {
    const { delivery, source } = this.bus.status();
    if (delivery === 'notify' && source !== 'connected' && source !== 'idle') {
      return Promise.reject(new Error(`the notification connection is ${source}`));
    }
    return Promise.resolve({ delivery, source });
  }
}
