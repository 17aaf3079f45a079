import { createHash, randomUUID } from 'node:crypto';
import type { IdentityStrategy } from '../templates/task-template.js';
import { ValidationError } from '../errors/tasker.error.js';

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The identity that makes a duplicate submission a 409. An explicit idempotency key always
 * wins (the caller asked for it); otherwise the template's strategy decides.
 */
export function computeIdentityHash(input: {
  strategy: IdentityStrategy;
  templateKey: string;
  context: unknown;
  idempotencyKey?: string | undefined;
}): string {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  if (input.idempotencyKey !== undefined) {
    return sha(`key\u0000${input.templateKey}\u0000${input.idempotencyKey}`);
  }
  switch (input.strategy) {
    case 'strict':
      return sha(`ctx\u0000${input.templateKey}\u0000${canonicalJson(input.context)}`);
    case 'caller_provided':
      throw new ValidationError(
        `template ${input.templateKey} uses identity_strategy caller_provided: idempotencyKey is required`,
      );
    case 'always_unique':
      return sha(`uniq\u0000${randomUUID()}`);
  }
}
