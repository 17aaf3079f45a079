import type { ApiPropertyOptions } from '@nestjs/swagger';

// Schemas for properties whose TypeScript type says less than JSON does (unknown, records).

/** Any JSON value, null included (OpenAPI 3.0 says so on a typed alternative): a step result. */
export const ANY_JSON = {
  description: 'Any JSON value',
  oneOf: [
    { type: 'object', additionalProperties: true, nullable: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
} satisfies ApiPropertyOptions;

/** A JSON object with any members. */
export const JSON_OBJECT = {
  type: 'object',
  additionalProperties: true,
} satisfies ApiPropertyOptions;

/** An object with an integer member per name (each optional unless `required`), e.g. counts by state. */
export function countsBy(names: readonly string[], required = false): ApiPropertyOptions {
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((name) => [name, { type: 'integer' as const }])),
    // selfRequired: the object itself is required; `required` lists its members.
    ...(required ? { required: [...names], selfRequired: true } : {}),
    additionalProperties: false,
  };
}
