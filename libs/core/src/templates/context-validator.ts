import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { errorMessage, TemplateValidationError } from '../errors/tasker.error.js';
import { templateKey, type TaskTemplate } from './task-template.js';

const addFormats = formatsModule.default;

/**
 * The ajv settings used for template input schemas everywhere: every format of JSON Schema
 * (date, date-time, email, uri, uuid, …, from ajv-formats) is checked. Unknown keywords are
 * allowed (annotations such as `example`); an unknown format is reported to `onUnknownFormat`,
 * since ajv would otherwise accept any value for it with only a warning.
 */
function createAjv(onUnknownFormat: (message: string) => void = () => undefined): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => {
        const message = args.map(String).join(' ');
        if (message.startsWith('unknown format')) onUnknownFormat(message);
      },
      error: () => undefined,
    },
  });
  addFormats(ajv);
  return ajv;
}

/**
 * Why `schema` does not compile as a JSON Schema (or names a format no validator knows), or
 * null when it is fine. Uses a throwaway ajv instance so that `$id`s of schemas checked earlier
 * cannot collide.
 */
export function compileSchemaProblem(schema: Record<string, unknown>): string | null {
  const unknownFormats: string[] = [];
  try {
    createAjv((message) =>
      unknownFormats.push(message.replace(' ignored in schema at path ', ' at ')),
    ).compile(schema);
  } catch (error) {
    return errorMessage(error);
  }
  return unknownFormats.length > 0 ? [...new Set(unknownFormats)].join('; ') : null;
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
 * Checks values against JSON Schemas that were validated when their template loaded (an event
 * declaration's payload schema): compiled once per distinct schema.
 */
export class SchemaValidator {
  private readonly ajv = createAjv();
  private readonly cache = new Map<string, ValidateFunction>();

  /** Problems with `value`, empty when it is valid (or the schema does not compile). */
  problems(schema: Record<string, unknown>, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      try {
        validate = this.ajv.compile(schema);
      } catch (error) {
        return [`the schema does not compile: ${errorMessage(error)}`];
      }
      this.cache.set(key, validate);
    }
    return validate(value) ? [] : formatAjvErrors(validate.errors);
  }
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
