import { assertJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

const nested = (levels: number) => Buffer.from(`${'['.repeat(levels)}${']'.repeat(levels)}`);

describe('assertJsonDepth', () => {
  it('accepts nesting up to the limit and refuses one level more with a 400', () => {
    expect(() => assertJsonDepth(nested(MAX_JSON_DEPTH))).not.toThrow();
    let thrown: unknown;
    try {
      assertJsonDepth(nested(MAX_JSON_DEPTH + 1));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({
      status: 400,
      message: 'the JSON body is nested deeper than 64 levels',
    });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: `"${'['.repeat(200)}\\"{{{` });
    expect(() => assertJsonDepth(Buffer.from(text), 1)).not.toThrow();
    expect(() => assertJsonDepth(Buffer.from(`[${text}]`), 1)).toThrow(/deeper than 1 levels/);
  });

  it('counts siblings by their own depth, not the total', () => {
    const wide = `[${Array.from({ length: 1000 }, () => '{"a":[1]}').join(',')}]`;
    expect(() => assertJsonDepth(Buffer.from(wide), 3)).not.toThrow();
  });
});
