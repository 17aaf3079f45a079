import { ValidationError } from '../errors/tasker.error.js';
import { canonicalJson, computeIdentityHash } from './identity-hash.js';

const base = { templateKey: 'examples/diamond@1.0.0', context: { b: 1, a: [1, { y: 2, x: 1 }] } };

describe('computeIdentityHash', () => {
  it('strict: the same context in any key order is the same task', () => {
    const a = computeIdentityHash({ ...base, strategy: 'strict' });
    const b = computeIdentityHash({
      ...base,
      strategy: 'strict',
      context: { a: [1, { x: 1, y: 2 }], b: 1 },
    });
    expect(a).toBe(b);
    expect(canonicalJson(base.context)).toBe('{"a":[1,{"x":1,"y":2}],"b":1}');
  });

  it('strict: another template or context is another task', () => {
    const a = computeIdentityHash({ ...base, strategy: 'strict' });
    expect(
      computeIdentityHash({ ...base, strategy: 'strict', templateKey: 'examples/diamond@2.0.0' }),
    ).not.toBe(a);
    expect(computeIdentityHash({ ...base, strategy: 'strict', context: { b: 2 } })).not.toBe(a);
  });

  it('always_unique: never collides', () => {
    expect(computeIdentityHash({ ...base, strategy: 'always_unique' })).not.toBe(
      computeIdentityHash({ ...base, strategy: 'always_unique' }),
    );
  });

  it('caller_provided: requires a key, and the key alone decides', () => {
    expect(() => computeIdentityHash({ ...base, strategy: 'caller_provided' })).toThrow(
      ValidationError,
    );
    const a = computeIdentityHash({ ...base, strategy: 'caller_provided', idempotencyKey: 'k1' });
    const b = computeIdentityHash({
      ...base,
      strategy: 'caller_provided',
      idempotencyKey: 'k1',
      context: {},
    });
    expect(a).toBe(b);
  });

  it('an explicit key wins over any strategy', () => {
    const a = computeIdentityHash({ ...base, strategy: 'always_unique', idempotencyKey: 'k' });
    expect(computeIdentityHash({ ...base, strategy: 'strict', idempotencyKey: 'k' })).toBe(a);
  });
});
