/** Deepest nesting of arrays and objects a request body may have, counting the body itself. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws a 400 error when the JSON text nests arrays or objects deeper than `max`, before it is
 * parsed: `JSON.parse`, validation and jsonb all recurse, and a body of a million `[` would
 * otherwise exhaust the stack (a 500) or reach the database. One pass over the bytes, skipping
 * string contents; malformed JSON is left for the parser to report.
 */
export function assertJsonDepth(body: Buffer, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > max) {
        throw Object.assign(new Error(`the JSON body is nested deeper than ${max} levels`), {
          status: 400,
          type: 'entity.too.deep',
        });
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
}
