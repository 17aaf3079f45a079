import { defineHandler, type TaskTemplate } from '#core';
import { templateStep } from '#testing';
import { fromTaskerCoreHandler } from '../tasker-core/adapter.js';
import { StepHandler, type StepContext, type StepHandlerResult } from '../tasker-core/index.js';
import { HandlerRegistry } from './handler-registry.js';

class Refunds extends StepHandler {
  static override handlerName = 'Payments::Refunds';
  call(): StepHandlerResult {
    return this.success({});
  }
  partial(context: StepContext): StepHandlerResult {
    return this.success({ step: context.stepName });
  }
}

const templateOf = (...steps: [string, string, string | undefined][]): TaskTemplate =>
  ({
    namespace: 'pay',
    name: 'refund',
    version: '1.0.0',
    source: 'refund.yaml',
    steps: steps.map(([name, handler, method]) => ({
      ...templateStep(name, 'standard'),
      handler,
      ...(method ? { handlerMethod: method } : {}),
    })),
  }) as TaskTemplate;

describe('HandlerRegistry', () => {
  const registry = new HandlerRegistry([
    fromTaskerCoreHandler(Refunds),
    defineHandler('plain.fn', () => ({})),
  ]);

  it("accepts a handler class's own methods, and call", () => {
    expect(() =>
      registry.assertCovers([
        templateOf(['a', 'Payments::Refunds', 'partial'], ['b', 'Payments::Refunds', 'call']),
      ]),
    ).not.toThrow();
  });

  it('refuses to boot on a missing handler, a missing method, or a method of a function handler', () => {
    expect(() =>
      registry.assertCovers([
        templateOf(
          ['a', 'nobody', undefined],
          ['b', 'Payments::Refunds', 'full'],
          ['c', 'Payments::Refunds', 'success'],
          ['d', 'plain.fn', 'other'],
        ),
      ]),
    ).toThrow(
      [
        'no handler registered for:',
        "  - refund.yaml: step 'a' uses handler 'nobody'",
        "  - refund.yaml: step 'b' calls method 'full' of handler 'Payments::Refunds', which has no such method (only Tasker Core handler classes dispatch methods)",
        "  - refund.yaml: step 'c' calls method 'success' of handler 'Payments::Refunds', which has no such method (only Tasker Core handler classes dispatch methods)",
        "  - refund.yaml: step 'd' calls method 'other' of handler 'plain.fn', which has no such method (only Tasker Core handler classes dispatch methods)",
      ].join('\n'),
    );
  });
});
