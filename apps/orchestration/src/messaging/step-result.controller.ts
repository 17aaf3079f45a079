import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MessageEnvelope, MessageType } from '#contracts';
import { MessageBus } from '#core';
import { TASKER_TRANSPORT, TaskerContext } from '#messaging';
import { StepResultProcessor } from '../services/step-result.processor.js';

/** step.result messages from orchestration_step_results, through the Tasker transport. */
@Controller()
export class StepResultController {
  constructor(
    private readonly processor: StepResultProcessor,
    private readonly bus: MessageBus,
  ) {}

  @EventPattern<MessageType>('step.result.v1', TASKER_TRANSPORT)
  async result(
    @Payload() envelope: MessageEnvelope<'step.result.v1'>,
    @Ctx() context: TaskerContext,
  ): Promise<void> {
    const { deadLetterReason, consumed } = await this.processor.handle(
      envelope,
      this.bus.rowOf(context.message),
    );
    if (deadLetterReason !== undefined) context.deadLetter(deadLetterReason);
    else if (consumed) context.consumedInTransaction();
  }
}
