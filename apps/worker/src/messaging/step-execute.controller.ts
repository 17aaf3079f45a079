import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MessageEnvelope, MessageType } from '#contracts';
import { MessageBus } from '#core';
import { TASKER_TRANSPORT, TaskerContext } from '#messaging';
import { StepExecutor } from '../services/step-executor.service.js';

/** step.execute messages from the worker's namespace queues, through the Tasker transport. */
@Controller()
export class StepExecuteController {
  constructor(
    private readonly executor: StepExecutor,
    private readonly bus: MessageBus,
  ) {}

  @EventPattern<MessageType>('step.execute.v1', TASKER_TRANSPORT)
  async execute(
    @Payload() envelope: MessageEnvelope<'step.execute.v1'>,
    @Ctx() context: TaskerContext,
  ): Promise<void> {
    const { redeliverAfterMs, deadLetterReason, consumed } = await this.executor.execute(envelope, {
      shutdown: context.shutdownSignal,
      enqueuedAt: context.message.enqueuedAt,
      row: this.bus.rowOf(context.message),
    });
    if (deadLetterReason !== undefined) context.deadLetter(deadLetterReason);
    else if (redeliverAfterMs !== undefined) context.redeliverAfter(redeliverAfterMs);
    else if (consumed) context.consumedInTransaction();
  }
}
