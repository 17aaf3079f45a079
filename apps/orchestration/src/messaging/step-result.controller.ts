import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MessageEnvelope, MessageType } from '#contracts';
import { TASKER_TRANSPORT, TaskerContext } from '#messaging';
import { StepResultProcessor } from '../services/step-result.processor.js';

/** step.result messages from orchestration_step_results, through the Tasker transport. */
@Controller()
export class StepResultController {
  constructor(private readonly processor: StepResultProcessor) {}

  @EventPattern<MessageType>('step.result.v1', TASKER_TRANSPORT)
  async result(
    @Payload() envelope: MessageEnvelope<'step.result.v1'>,
    @Ctx() context: TaskerContext,
  ): Promise<void> {
    const { deadLetterReason } = await this.processor.handle(envelope);
    if (deadLetterReason !== undefined) context.deadLetter(deadLetterReason);
  }
}
