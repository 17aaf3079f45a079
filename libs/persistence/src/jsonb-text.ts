/**
 * What PostgreSQL's jsonb refuses although JSON allows it: U+0000, and UTF-16 surrogates
 * without their other half (JSON.stringify writes them as `\udXXX` escapes, and jsonb rejects
 * those). A write holding either fails as a whole, so callers check before writing.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what it looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** What in `text` jsonb cannot hold, described; null when it can hold all of it. */
function unstorableCharacter(text: string): string | null {
  const found = UNSTORABLE.exec(text)?.[0];
  if (found === undefined) return null;
  if (found === '\u0000') return 'U+0000 (NUL)';
  return `an unpaired surrogate (U+${found.charCodeAt(0).toString(16).toUpperCase()})`;
}

/**
 * Where a JSON value (as JSON.parse returns it) holds a string or key that jsonb cannot store,
 * and what it is, like `the string at $.rows[1].name contains U+0000 (NUL)`; null when the
 * whole value can be stored.
 */
export function findJsonbUnstorable(value: unknown, path = '$'): string | null {
  if (typeof value === 'string') {
    const found = unstorableCharacter(value);
    return found === null ? null : `the string at ${path} contains ${found}`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findJsonbUnstorable(item, `${path}[${index}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const inKey = unstorableCharacter(key);
      if (inKey !== null) return `a key of the object at ${path} contains ${inKey}`;
      const step = IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      const found = findJsonbUnstorable(item, `${path}${step}`);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * JSON.stringify writes U+0000 and unpaired surrogates (only those) as `\u` escapes, so a
 * serialized value without such an escape holds nothing jsonb refuses: one native scan instead
 * of walking the value. A match may be an escaped backslash followed by `u0000`; callers then
 * walk the value with findJsonbUnstorable to be sure and to name the place.
 */
const MAYBE_UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

export function mayHoldJsonbUnstorable(json: string): boolean {
  return MAYBE_UNSTORABLE_ESCAPE.test(json);
}

/** `text` with what jsonb cannot hold written out as `\uXXXX` escapes, for messages meant to be read. */
export function jsonbSafeText(text: string): string {
  return text.replace(UNSTORABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
