import { dailyFires } from './daily-fires.js';

describe('dailyFires (the e2e suites’ independent oracle)', () => {
  const at0230 = { hour: 2, minute: 30 };

  it('moves a time in the spring-forward gap forward by the gap', () => {
    expect(dailyFires(at0230, 'Europe/Berlin', new Date('2026-03-27T12:00:00Z'), 3)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('takes the first of the two occurrences on a fall-back day', () => {
    expect(dailyFires(at0230, 'Europe/Berlin', new Date('2026-10-23T12:00:00Z'), 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('starts after the given instant, not at the start of its day', () => {
    expect(dailyFires(at0230, 'UTC', new Date('2026-11-23T02:30:00Z'), 1)).toEqual([
      '2026-11-24T02:30:00.000Z',
    ]);
  });
});
