import { Injectable } from '@nestjs/common';
import { createEnvelope, workerQueueName } from '#contracts';
import { MessageBus } from '#core';
import type { EnqueuedStep } from '#persistence';

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

  async announce(announcement: Announcement): Promise<void> {
    if (announcement.steps.length === 0) return;
    await this.bus.sendBatch(
      workerQueueName(announcement.namespace),
      announcement.steps.map((step) =>
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
    );
  }
}
