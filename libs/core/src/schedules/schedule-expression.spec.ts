import { ValidationError } from '../errors/tasker.error.js';
import {
  parseScheduleExpression,
  type ScheduleSpec,
  upcomingFires,
} from './schedule-expression.js';

function fires(spec: ScheduleSpec, after: string, count: number): string[] {
  return upcomingFires(parseScheduleExpression(spec), new Date(after), count).map((d) =>
    d.toISOString(),
  );
}

describe('cron schedules across DST', () => {
  const daily0230 = (timezone: string): ScheduleSpec => ({
    kind: 'cron',
    expression: '30 2 * * *',
    timezone,
  });

  it('Europe/Berlin spring-forward: 02:30 does not exist and fires once at 03:30 CEST', () => {
    expect(fires(daily0230('Europe/Berlin'), '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: shifted by the one-hour gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin fall-back: 02:30 happens twice and fires once, at the first', () => {
    expect(fires(daily0230('Europe/Berlin'), '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); not again at 01:30Z (CET)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('America/New_York spring-forward and fall-back', () => {
    expect(fires(daily0230('America/New_York'), '2026-03-06T12:00:00Z', 3)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
    const daily0130: ScheduleSpec = {
      kind: 'cron',
      expression: '30 1 * * *',
      timezone: 'America/New_York',
    };
    expect(fires(daily0130, '2026-10-30T12:00:00Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // the first 01:30 (EDT) only
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('keeps elapsed time for interval fields through the repeated hour', () => {
    const every30: ScheduleSpec = {
      kind: 'cron',
      expression: '*/30 * * * *',
      timezone: 'Europe/Berlin',
    };
    expect(fires(every30, '2026-10-24T23:45:00Z', 5)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('accepts macros', () => {
    expect(
      fires({ kind: 'cron', expression: '@daily', timezone: 'UTC' }, '2026-01-01T10:00:00Z', 1),
    ).toEqual(['2026-01-02T00:00:00.000Z']);
  });
});

describe('rrule schedules across DST', () => {
  it('Europe/Berlin: a nonexistent local time produces no occurrence; the overlap fires once', () => {
    const spring: ScheduleSpec = {
      kind: 'rrule',
      expression: 'DTSTART;TZID=Europe/Berlin:20260327T023000\nRRULE:FREQ=DAILY',
      timezone: 'Europe/Berlin',
    };
    expect(fires(spring, '2026-03-27T00:00:00Z', 3)).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    const autumn: ScheduleSpec = {
      kind: 'rrule',
      expression: 'DTSTART;TZID=Europe/Berlin:20261023T023000\nRRULE:FREQ=DAILY;COUNT=4',
      timezone: 'Europe/Berlin',
    };
    expect(fires(autumn, '2026-10-23T00:00:00Z', 10)).toEqual([
      '2026-10-23T00:30:00.000Z',
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('America/New_York weekly on weekdays keeps 09:00 local across the change', () => {
    const weekdays: ScheduleSpec = {
      kind: 'rrule',
      expression: 'DTSTART;TZID=America/New_York:20260305T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,TH',
      timezone: 'America/New_York',
    };
    expect(fires(weekdays, '2026-03-05T00:00:00Z', 3)).toEqual([
      '2026-03-05T14:00:00.000Z', // Thu 09:00 EST
      '2026-03-09T13:00:00.000Z', // Mon 09:00 EDT
      '2026-03-12T13:00:00.000Z',
    ]);
  });
});

describe('once schedules', () => {
  it('reads an instant with an offset as is, and without one in the timezone', () => {
    expect(
      fires(
        { kind: 'once', expression: '2026-06-01T09:00:00Z', timezone: 'Asia/Tokyo' },
        '2026-01-01T00:00:00Z',
        3,
      ),
    ).toEqual(['2026-06-01T09:00:00.000Z']);
    expect(
      fires(
        { kind: 'once', expression: '2026-06-01T09:00', timezone: 'Asia/Tokyo' },
        '2026-01-01T00:00:00Z',
        1,
      ),
    ).toEqual(['2026-06-01T00:00:00.000Z']);
    expect(
      fires(
        { kind: 'once', expression: '2026-06-01T09:00:00Z', timezone: 'UTC' },
        '2026-06-01T09:00:00Z',
        1,
      ),
    ).toEqual([]);
  });
});

describe('schedule validation', () => {
  it.each<[ScheduleSpec, RegExp]>([
    [{ kind: 'cron', expression: '61 * * * *', timezone: 'UTC' }, /not a valid cron/],
    [{ kind: 'cron', expression: '0 0 * * * *', timezone: 'UTC' }, /use 5 fields/],
    [{ kind: 'cron', expression: 'every day', timezone: 'UTC' }, /not a valid cron/],
    [{ kind: 'cron', expression: '0 0 30 2 *', timezone: 'UTC' }, /day of month/],
    [{ kind: 'cron', expression: '0 9 * * *', timezone: 'Mars/Olympus' }, /not an IANA/],
    [{ kind: 'cron', expression: '0 9 * * *', timezone: '' }, /not an IANA/],
    [{ kind: 'rrule', expression: 'RRULE:FREQ=DAILY', timezone: 'UTC' }, /DTSTART/],
    [
      {
        kind: 'rrule',
        expression: 'DTSTART:20260101T090000Z\nRRULE:FREQ=SOMETIMES',
        timezone: 'UTC',
      },
      /not a valid rrule/,
    ],
    [
      {
        kind: 'rrule',
        expression: 'DTSTART;TZID=Europe/Paris:20260101T090000\nRRULE:FREQ=DAILY',
        timezone: 'Europe/Berlin',
      },
      /differs from timezone/,
    ],
    [{ kind: 'once', expression: 'tomorrow', timezone: 'UTC' }, /not a valid once/],
  ])('%j is refused', (spec, message) => {
    expect(() => parseScheduleExpression(spec)).toThrow(ValidationError);
    expect(() => parseScheduleExpression(spec)).toThrow(message);
  });
});
