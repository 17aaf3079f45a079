import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import { RRuleTemporal } from 'rrule-temporal';
import { ValidationError } from '../errors/tasker.error.js';

export const SCHEDULE_KINDS = ['cron', 'rrule', 'once'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface ScheduleSpec {
  kind: ScheduleKind;
  expression: string;
  /** IANA zone the expression's wall-clock times are in. */
  timezone: string;
}

/**
 * When a schedule fires, computed in its timezone. DST behaviour (docs/schedules.md):
 * - cron: a wall time skipped by spring-forward fires once, shifted by the gap (02:30 → 03:30);
 *   a wall time repeated by fall-back fires once, at its first occurrence; interval fields
 *   (every N minutes/hours) keep elapsed time across both changes.
 * - rrule: as RFC 5545 with DTSTART;TZID — an occurrence in the fall-back overlap fires at its
 *   first occurrence; one whose local time does not exist that day is not produced.
 * - once: an instant; without an offset it is read in the timezone (a skipped time shifts
 *   forward by the gap).
 */
export interface ScheduleExpression {
  readonly spec: ScheduleSpec;
  /** The first fire strictly after `after`, or null when the schedule has no more fires. */
  nextAfter(after: Date): Date | null;
}

/** The next `count` fires strictly after `after`. */
export function upcomingFires(expression: ScheduleExpression, after: Date, count: number): Date[] {
  const fires: Date[] = [];
  let cursor = after;
  while (fires.length < count) {
    const next = expression.nextAfter(cursor);
    if (!next) break;
    fires.push(next);
    cursor = next;
  }
  return fires;
}

export function isValidTimezone(timezone: string): boolean {
  if (timezone.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Parses and validates a schedule; every problem is a ValidationError naming the field. */
export function parseScheduleExpression(spec: ScheduleSpec): ScheduleExpression {
  if (!isValidTimezone(spec.timezone)) {
    throw new ValidationError(`timezone "${spec.timezone}" is not an IANA time zone`, {
      field: 'timezone',
    });
  }
  switch (spec.kind) {
    case 'cron':
      return cronExpression(spec);
    case 'rrule':
      return rruleExpression(spec);
    case 'once':
      return onceExpression(spec);
  }
}

function invalid(spec: ScheduleSpec, why: string): ValidationError {
  return new ValidationError(`expression is not a valid ${spec.kind} schedule: ${why}`, {
    field: 'expression',
    kind: spec.kind,
  });
}

function cronExpression(spec: ScheduleSpec): ScheduleExpression {
  const text = spec.expression.trim();
  // Five fields (minute hour day-of-month month day-of-week) or a macro such as @daily; the
  // parser would also take a seconds field, which a schedule has no use for.
  if (!text.startsWith('@') && text.split(/\s+/).length !== 5) {
    throw invalid(spec, 'use 5 fields: minute hour day-of-month month day-of-week');
  }
  const parse = (after: Date) =>
    CronExpressionParser.parse(text, { currentDate: after, tz: spec.timezone, strict: false });
  try {
    parse(new Date()).next();
  } catch (err) {
    throw invalid(spec, err instanceof Error ? err.message : String(err));
  }
  return {
    spec,
    nextAfter: (after) => parse(after).next().toDate(),
  };
}

function rruleExpression(spec: ScheduleSpec): ScheduleExpression {
  const text = spec.expression.trim().replace(/\r\n/g, '\n');
  if (!/^DTSTART[;:]/m.test(text)) {
    throw invalid(spec, 'it needs a DTSTART line, e.g. DTSTART;TZID=Europe/Berlin:20260101T090000');
  }
  let rule: RRuleTemporal;
  try {
    rule = new RRuleTemporal({ rruleString: text, tzid: spec.timezone });
  } catch (err) {
    throw invalid(spec, err instanceof Error ? err.message : String(err));
  }
  const declared = /^DTSTART;TZID=([^:]+):/m.exec(text)?.[1];
  if (declared !== undefined && declared !== spec.timezone) {
    throw invalid(spec, `DTSTART's TZID ${declared} differs from timezone ${spec.timezone}`);
  }
  return {
    spec,
    nextAfter(after) {
      const next = rule.next(after);
      return next ? new Date(next.epochMilliseconds) : null;
    },
  };
}

/** An ISO 8601 instant; with no offset, local to the timezone. */
function onceExpression(spec: ScheduleSpec): ScheduleExpression {
  const parsed = DateTime.fromISO(spec.expression.trim(), { zone: spec.timezone, setZone: true });
  if (!parsed.isValid) {
    throw invalid(spec, `${parsed.invalidExplanation ?? parsed.invalidReason ?? 'not ISO 8601'}`);
  }
  const at = parsed.toJSDate();
  return { spec, nextAfter: (after) => (at.getTime() > after.getTime() ? at : null) };
}
