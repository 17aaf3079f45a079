import { DateTime } from 'luxon';

/**
 * The next `count` instants after `after` at which a daily local time occurs in `zone`, worked
 * out independently of the scheduler (luxon, not cron-parser): on a spring-forward day a time in
 * the gap moves forward by the gap (02:30 → 03:30), and on a fall-back day the first of the two
 * occurrences counts. Tests compare the scheduler's fires with these exactly.
 */
export function dailyFires(
  local: { hour: number; minute: number },
  zone: string,
  after: Date,
  count: number,
): string[] {
  const fires: string[] = [];
  let day = DateTime.fromJSDate(after, { zone }).startOf('day');
  while (fires.length < count) {
    const fire = DateTime.fromObject(
      { year: day.year, month: day.month, day: day.day, ...local },
      { zone },
    );
    const earlier = fire.minus({ hours: 1 });
    // Of two occurrences of the same wall time (fall-back), take the first.
    const first =
      earlier.hour === local.hour && earlier.minute === local.minute && earlier.day === day.day
        ? earlier
        : fire;
    if (first.toJSDate() > after) fires.push(first.toUTC().toISO()!);
    day = day.plus({ days: 1 });
  }
  return fires;
}
