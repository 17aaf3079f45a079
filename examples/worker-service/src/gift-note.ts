// A handler class as a team coming from Tasker Core has it: only the import line names this
// package. Registered by its handlerName, the template's handler.callable.
import {
  ErrorType,
  StepHandler,
  type StepContext,
  type StepHandlerResult,
} from 'tasker/tasker-core';

export class GiftNoteHandler extends StepHandler {
  static override handlerName = 'Shop::GiftNoteHandler';

  async call(context: StepContext): Promise<StepHandlerResult> {
    const recipient = context.getInput<string>('recipient');
    if (!recipient?.trim()) {
      return this.failure('a gift note needs a recipient', ErrorType.VALIDATION_ERROR, false);
    }
    const signature = context.getConfig<string>('signature') ?? '';
    return this.success({ note: `Dear ${recipient}, enjoy your tea! ${signature}`.trim() });
  }
}
