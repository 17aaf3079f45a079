import { Injectable } from '@nestjs/common';
import type { MessageEnvelope } from '#contracts';
import { createEnvelope, workerQueueName } from '#contracts';
import { MessageBus } from '#core';
import type { EnqueuedStep } from '#core';

export interface Announcement {
  taskUuid: string;
  namespace: string;
  correlationId: string;
  traceparent: string | null;
  steps: EnqueuedStep[];
  causationId?: string | null;
}

/**
 * Sends step.execute messages for steps already committed as `enqueued` (state before queue).
 * If sending fails, the steps stay `enqueued` and the sweep announces them again later.
 */
@Injectable()
export class StepAnnouncer {
  constructor(private readonly bus: MessageBus) {}

  announce(announcement: Announcement): Promise<void> {
    return this.announceAll([announcement]);
  }

  /** Every announcement's steps, with one batch send per namespace queue (sent concurrently). */
  async announceAll(announcements: readonly Announcement[]): Promise<void> {
    const byQueue = new Map<string, MessageEnvelope<'step.execute.v1'>[]>();
    for (const announcement of announcements) {
      if (announcement.steps.length === 0) continue;
      const { queue, messages } = stepMessages(announcement);
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), ...messages]);
    }
    await Promise.all([...byQueue].map(([queue, messages]) => this.bus.sendBatch(queue, messages)));
  }
}

/** The step.execute messages of an announcement, and the worker queue they go to. */
export function stepMessages(announcement: Announcement): {
  queue: string;
  messages: MessageEnvelope<'step.execute.v1'>[];
} {
  return {
    queue: workerQueueName(announcement.namespace),
    messages: announcement.steps.map((step) =>
      createEnvelope(
        'step.execute.v1',
        {
          taskUuid: announcement.taskUuid,
          stepUuid: step.stepUuid,
          stepName: step.stepName,
          namespace: announcement.namespace,
        },
        {
          correlationId: announcement.correlationId,
          causationId: announcement.causationId ?? null,
          traceparent: announcement.traceparent,
        },
      ),
    ),
  };
}
