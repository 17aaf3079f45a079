import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errorMessage, TemplateValidationError } from '../errors/tasker.error.js';
import { templateKey, type TaskTemplate } from './task-template.js';

/** The ajv settings used for template input schemas everywhere. */
function createAjv(): Ajv {
  return new Ajv({ allErrors: true, strict: false });
}

/**
 * Why `schema` does not compile as a JSON Schema, or null when it does. Uses a throwaway ajv
 * instance so that `$id`s of schemas checked earlier cannot collide.
 */
export function compileSchemaProblem(schema: Record<string, unknown>): string | null {
  try {
    createAjv().compile(schema);
    return null;
  } catch (error) {
    return errorMessage(error);
  }
}

/** ajv errors as readable lines: "/n must be integer", "must have required property 'n'". */
export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    let message = error.message ?? `failed ${error.keyword}`;
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      message += `: '${params.additionalProperty}'`;
    } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      message += `: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return error.instancePath ? `${error.instancePath} ${message}` : message;
  });
}

/**
 * Checks a task's context against its template's `input_schema`. Compiled validators are cached
 * per template key (recompiled if a template with the same key brings a different schema).
 */
export class ContextValidator {
  private readonly ajv = createAjv();
  private readonly cache = new Map<string, { schema: string; validate: ValidateFunction }>();

  /** Problems with `context`, empty when it is valid. */
  validate(template: TaskTemplate, context: unknown): string[] {
    if (typeof context !== 'object' || context === null || Array.isArray(context)) {
      const got = context === null ? 'null' : Array.isArray(context) ? 'an array' : typeof context;
      return [`context must be a JSON object, got ${got}`];
    }
    const validate = this.validatorFor(template);
    if (validate(context)) return [];
    return formatAjvErrors(validate.errors);
  }

  private validatorFor(template: TaskTemplate): ValidateFunction {
    const key = templateKey(template);
    // By content: templates are read from the database per request, a new object every time.
    const schema = JSON.stringify(template.inputSchema);
    const cached = this.cache.get(key);
    if (cached && cached.schema === schema) return cached.validate;
    if (cached) this.ajv.removeSchema(cached.validate.schema);
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(template.inputSchema);
    } catch (error) {
      const reason = errorMessage(error);
      throw new TemplateValidationError(template.source, [
        `input_schema of ${key} is not a valid JSON Schema: ${reason}`,
      ]);
    }
    this.cache.set(key, { schema, validate });
    return validate;
  }
}
