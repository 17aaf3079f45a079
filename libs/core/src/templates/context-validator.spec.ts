import { TemplateValidationError } from '../errors/tasker.error.js';
import { ContextValidator, formatAjvErrors } from './context-validator.js';
import type { TaskTemplate } from './task-template.js';
import { parseTemplate } from './template.parser.js';

function template(inputSchema?: Record<string, unknown>, version = '1.0.0'): TaskTemplate {
  return parseTemplate(
    {
      namespace: 'examples',
      name: 'ctx',
      version,
      ...(inputSchema ? { input_schema: inputSchema } : {}),
      steps: [{ name: 'only', handler: 'examples.square' }],
    },
    'ctx.yaml',
  );
}

const nSchema = {
  type: 'object',
  required: ['n'],
  additionalProperties: false,
  properties: { n: { type: 'integer' }, mode: { enum: ['a', 'b'] } },
};

describe('ContextValidator', () => {
  it('accepts a valid context', () => {
    expect(new ContextValidator().validate(template(nSchema), { n: 2 })).toEqual([]);
  });

  it('reports every problem in readable form', () => {
    const v = new ContextValidator();
    expect(v.validate(template(nSchema), { n: 'two' })).toEqual(['/n must be integer']);
    expect(v.validate(template(nSchema), {})).toEqual(["must have required property 'n'"]);
    expect(v.validate(template(nSchema), { n: 1.5, mode: 'c', extra: true })).toEqual([
      "must NOT have additional properties: 'extra'",
      '/n must be integer',
      '/mode must be equal to one of the allowed values: "a", "b"',
    ]);
  });

  it('requires the context to be a JSON object', () => {
    const v = new ContextValidator();
    const t = template();
    expect(v.validate(t, { anything: [1] })).toEqual([]);
    expect(v.validate(t, [1])).toEqual(['context must be a JSON object, got an array']);
    expect(v.validate(t, null)).toEqual(['context must be a JSON object, got null']);
    expect(v.validate(t, 'x')).toEqual(['context must be a JSON object, got string']);
  });

  it('caches the compiled validator per template key', () => {
    const v = new ContextValidator();
    const t = template(nSchema);
    const cache = (v as unknown as { cache: Map<string, { validate: unknown }> }).cache;
    v.validate(t, { n: 1 });
    const first = cache.get('examples/ctx@1.0.0')?.validate;
    expect(first).toBeDefined();
    v.validate(t, { n: 2 });
    v.validate({ ...t }, { n: 3 }); // same key, same schema object
    expect(cache.get('examples/ctx@1.0.0')?.validate).toBe(first);
    v.validate(template(nSchema, '1.0.1'), { n: 1 });
    expect(cache.size).toBe(2);
  });

  it('recompiles when a template with the same key brings a different schema, even with $id', () => {
    const v = new ContextValidator();
    const a = template({
      $id: 'https://example.test/ctx.json',
      type: 'object',
      properties: { n: { type: 'integer' } },
    });
    const b = template({
      $id: 'https://example.test/ctx.json',
      type: 'object',
      properties: { n: { type: 'string' } },
    });
    expect(v.validate(a, { n: 'x' })).toEqual(['/n must be integer']);
    expect(v.validate(b, { n: 'x' })).toEqual([]);
  });

  it('throws a TemplateValidationError naming the source for a schema that does not compile', () => {
    const bad: TaskTemplate = { ...template(), inputSchema: { type: 'integr' } };
    expect(() => new ContextValidator().validate(bad, {})).toThrow(TemplateValidationError);
    expect(() => new ContextValidator().validate(bad, {})).toThrow(
      /^ctx\.yaml: input_schema of examples\/ctx@1\.0\.0/,
    );
  });
});

describe('formatAjvErrors', () => {
  it('handles missing errors', () => {
    expect(formatAjvErrors(null)).toEqual([]);
    expect(formatAjvErrors(undefined)).toEqual([]);
  });
});
