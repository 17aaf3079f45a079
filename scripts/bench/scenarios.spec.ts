import { limitsCostOf } from './scenarios.js';
import type { LimitsCost } from './subject.js';

describe('limitsCostOf', () => {
  const drain = (template: 'plain' | 'limited', steps: number, seconds: number) => ({
    template,
    drain: { tasks: steps, steps, seconds, stepsPerSecond: steps / seconds },
    queueSeconds: 1,
  });
  // Round 1: plain 1,000/s and limited 800/s (20%); round 2: both 1,000/s (0%).
  const drains: LimitsCost['drains'] = [
    drain('plain', 1000, 1),
    drain('limited', 1000, 1.25),
    drain('limited', 1000, 1.25),
    drain('plain', 1000, 1),
    drain('limited', 1000, 1),
    drain('plain', 1000, 1),
    drain('plain', 1000, 1),
    drain('limited', 1000, 1),
  ];

  it("rates each template over all its drains' steps and seconds, and costs the limit on them", () => {
    const cost = limitsCostOf(drains, 4);
    expect(cost.plain).toEqual({ tasks: 4000, steps: 4000, seconds: 4, stepsPerSecond: 1000 });
    expect(cost.limited).toEqual({
      tasks: 4000,
      steps: 4000,
      seconds: 4.5,
      stepsPerSecond: 4000 / 4.5,
    });
    expect(cost.costPercent).toBeCloseTo((1 - 1 / 1.125) * 100, 10);
  });

  it('costs each round on its own drains, in the order they ran', () => {
    const [first, second] = limitsCostOf(drains, 4).roundCostPercents;
    expect(first).toBeCloseTo(20, 10);
    expect(second).toBeCloseTo(0, 10);
    expect(limitsCostOf(drains, 4).roundCostPercents).toHaveLength(2);
  });

  it('adds each drain its submission for the cost with submission', () => {
    const { withSubmission } = limitsCostOf(drains, 4);
    expect(withSubmission.plain.seconds).toBe(8);
    expect(withSubmission.limited.seconds).toBe(8.5);
    expect(withSubmission.costPercent).toBeCloseTo((1 - 8 / 8.5) * 100, 10);
  });
});
