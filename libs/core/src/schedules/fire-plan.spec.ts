import { planDueFires } from './fire-plan.js';
import { parseScheduleExpression } from './schedule-expression.js';

const everyMinute = parseScheduleExpression({
  kind: 'cron',
  expression: '* * * * *',
  timezone: 'UTC',
});
const at = (hhmm: string) => new Date(`2026-05-01T${hhmm}:00Z`);
const iso = (dates: (Date | null)[]) => dates.map((d) => d?.toISOString().slice(11, 16) ?? null);

describe('planDueFires', () => {
  it('runs a fire that is due now and waits for the next one', () => {
    const plan = planDueFires({
      expression: everyMinute,
      firstDue: at('10:00'),
      now: new Date('2026-05-01T10:00:00.300Z'),
      misfireGraceSeconds: 60,
    });
    expect(iso([plan.run, plan.nextFireAt])).toEqual(['10:00', '10:01']);
    expect(plan.skipped).toEqual([]);
  });

  it('after downtime runs the latest fire within the grace once; older ones are misfires', () => {
    const plan = planDueFires({
      expression: everyMinute,
      firstDue: at('10:00'),
      now: new Date('2026-05-01T10:05:30Z'),
      misfireGraceSeconds: 150,
    });
    expect(iso([plan.run, plan.nextFireAt])).toEqual(['10:05', '10:06']);
    expect(plan.skipped.map((s) => [iso([s.fireAt])[0], s.outcome])).toEqual([
      ['10:00', 'misfired'],
      ['10:01', 'misfired'],
      ['10:02', 'misfired'],
      ['10:03', 'coalesced'],
      ['10:04', 'coalesced'],
    ]);
  });

  it('runs nothing when every due fire is beyond the grace', () => {
    const plan = planDueFires({
      expression: everyMinute,
      firstDue: at('10:00'),
      now: new Date('2026-05-01T10:02:30Z'),
      misfireGraceSeconds: 10,
    });
    expect(plan.run).toBeNull();
    expect(plan.skipped.map((s) => s.outcome)).toEqual(['misfired', 'misfired', 'misfired']);
    expect(iso([plan.nextFireAt])).toEqual(['10:03']);
  });

  it('works a long outage off in capped claims and runs only in the last one', () => {
    const first = planDueFires({
      expression: everyMinute,
      firstDue: at('00:00'),
      now: new Date('2026-05-01T10:00:30Z'),
      misfireGraceSeconds: 3600,
      maxFires: 100,
    });
    expect(first.run).toBeNull();
    expect(first.skipped).toHaveLength(100);
    expect(iso([first.nextFireAt])).toEqual(['01:40']);
    let plan = first;
    let claims = 1;
    while (plan.nextFireAt && plan.nextFireAt <= new Date('2026-05-01T10:00:30Z')) {
      plan = planDueFires({
        expression: everyMinute,
        firstDue: plan.nextFireAt,
        now: new Date('2026-05-01T10:00:30Z'),
        misfireGraceSeconds: 3600,
        maxFires: 100,
      });
      claims++;
    }
    expect(claims).toBe(7);
    expect(iso([plan.run, plan.nextFireAt])).toEqual(['10:00', '10:01']);
  });

  it('ends a once schedule after its fire', () => {
    const once = parseScheduleExpression({
      kind: 'once',
      expression: '2026-05-01T10:00:00Z',
      timezone: 'UTC',
    });
    const plan = planDueFires({
      expression: once,
      firstDue: at('10:00'),
      now: at('10:01'),
      misfireGraceSeconds: 300,
    });
    expect(iso([plan.run])).toEqual(['10:00']);
    expect(plan.nextFireAt).toBeNull();
  });
});
