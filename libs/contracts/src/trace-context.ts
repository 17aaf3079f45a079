import { randomBytes } from 'node:crypto';

/** W3C Trace Context `traceparent`: version 00, trace id, parent span id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a valid traceparent, or null (invalid ones are ignored, as the spec says). */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return null;
  const [, traceId, parentId] = match;
  // All-zero ids are invalid.
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  return traceId!;
}

/** The caller's traceparent when valid, else a new sampled trace. */
export function traceparentFor(received: string | null | undefined): string {
  if (received && traceIdOf(received)) return received;
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}
