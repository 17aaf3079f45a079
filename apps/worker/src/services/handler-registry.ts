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

  /** Throws one error listing every step, in every template, whose handler is missing. */
  assertCovers(templates: readonly TaskTemplate[]): void {
    const missing = templates.flatMap((t) =>
      t.steps
        .filter((s) => !this.handlers.has(s.handler))
        .map((s) => `${t.source}: step '${s.name}' uses handler '${s.handler}'`),
    );
    if (missing.length > 0) {
      throw new Error(`no handler registered for:\n  - ${missing.join('\n  - ')}`);
    }
  }
}
