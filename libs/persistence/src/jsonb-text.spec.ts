import { findJsonbUnstorable, mayHoldJsonbUnstorable, jsonbSafeText } from './jsonb-text.js';

describe('findJsonbUnstorable', () => {
  it('accepts what jsonb stores, paired surrogates (emoji) included', () => {
    expect(
      findJsonbUnstorable({ a: [1, 'ü€😀', { b: null, 'odd key': true }], c: '\u0001\uFFFF' }),
    ).toBeNull();
    expect(findJsonbUnstorable('😀')).toBeNull();
  });

  it.each<[unknown, string]>([
    ['a\u0000b', 'the string at $ contains U+0000 (NUL)'],
    [
      { rows: [{ id: 1 }, { name: 'x\u0000' }] },
      'the string at $.rows[1].name contains U+0000 (NUL)',
    ],
    [{ 'a b': ['\ud83d'] }, 'the string at $["a b"][0] contains an unpaired surrogate (U+D83D)'],
    [['ok', 'x\ude00y'], 'the string at $[1] contains an unpaired surrogate (U+DE00)'],
    [{ labels: { ['k\u0000']: 1 } }, 'a key of the object at $.labels contains U+0000 (NUL)'],
    [{ ['\udc00']: 1 }, 'a key of the object at $ contains an unpaired surrogate (U+DC00)'],
  ])('names the path of what it cannot store: %j', (value, problem) => {
    expect(findJsonbUnstorable(value)).toBe(problem);
  });
});

describe('jsonbSafeText', () => {
  it('writes NUL and unpaired surrogates out as escapes and keeps everything else', () => {
    expect(jsonbSafeText('a\u0000b \ud83d \ude00 😀 ü')).toBe('a\\u0000b \\ud83d \\ude00 😀 ü');
    expect(findJsonbUnstorable(jsonbSafeText('\u0000\ud800\udfff\udfff'))).toBeNull();
  });

  it('screens serialized JSON: every value findJsonbUnstorable refuses is flagged', () => {
    const refused = ['a\u0000b', '\ud800', 'x\udfff', { ['k\u0000']: 1 }, [{ v: '\udbff' }]];
    for (const value of refused) {
      expect(findJsonbUnstorable(value)).not.toBeNull();
      expect(mayHoldJsonbUnstorable(JSON.stringify(value))).toBe(true);
    }
    const stored = ['plain', '😀 emoji', { text: 'a backslash then u0000: \\u0000' }];
    expect(stored.map((v) => mayHoldJsonbUnstorable(JSON.stringify(v)))).toEqual([
      false,
      false,
      true, // a false alarm the walk then clears
    ]);
    expect(findJsonbUnstorable(stored[2])).toBeNull();
  });
});
