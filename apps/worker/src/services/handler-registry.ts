import type { StepHandlerDefinition, TaskTemplate } from '#core';

/** Step handlers by name. A template naming a handler nobody registered stops the boot. */
export class HandlerRegistry {
  private readonly handlers = new Map<string, StepHandlerDefinition>();

  constructor(definitions: readonly StepHandlerDefinition[]) {
    for (const definition of definitions) {
      if (this.handlers.has(definition.name)) {
        throw new Error(`step handler ${definition.name} is registered twice`);
      }
      this.handlers.set(definition.name, definition);
    }
  }

  get(name: string): StepHandlerDefinition | undefined {
    return this.handlers.get(name);
  }

  /**
   * Throws one error listing every step, in every template, whose handler is missing or lacks
   * the method its `handler.method` names.
   */
  assertCovers(templates: readonly TaskTemplate[]): void {
    const missing = templates.flatMap((t) =>
      t.steps.flatMap((s) => {
        const handler = this.handlers.get(s.handler);
        if (!handler) return [`${t.source}: step '${s.name}' uses handler '${s.handler}'`];
        const method = s.handlerMethod;
        if (method === undefined || method === 'call' || handler.hasMethod?.(method)) return [];
        return [
          `${t.source}: step '${s.name}' calls method '${method}' of handler '${s.handler}', which has no such method (only Tasker Core handler classes dispatch methods)`,
        ];
      }),
    );
    if (missing.length > 0) {
      throw new Error(`no handler registered for:\n  - ${missing.join('\n  - ')}`);
    }
  }
}
