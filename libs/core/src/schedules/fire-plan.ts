import type { ScheduleExpression } from './schedule-expression.js';

/** Fires handled in one claim at most: a long outage is worked off over several claims. */
export const MAX_FIRES_PER_CLAIM = 1000;

export interface FirePlan {
  /** Due fires that will not run, oldest first. */
  skipped: { fireAt: Date; outcome: 'misfired' | 'coalesced' }[];
  /** The one fire to run now, if any is within the misfire grace. */
  run: Date | null;
  /** The fire to wait for next (may still be due when the claim hit its cap); null: none. */
  nextFireAt: Date | null;
}

/**
 * What to do with a schedule whose next fire has come: every due fire up to `now` is looked
 * at; of those within the misfire grace only the latest runs (the rest are coalesced), and
 * those older than the grace are recorded as misfired.
 */
export function planDueFires(input: {
  expression: ScheduleExpression;
  firstDue: Date;
  now: Date;
  misfireGraceSeconds: number;
  maxFires?: number;
}): FirePlan {
  const max = input.maxFires ?? MAX_FIRES_PER_CLAIM;
  const due: Date[] = [];
  let next: Date | null = input.firstDue;
  while (next !== null && next.getTime() <= input.now.getTime() && due.length < max) {
    due.push(next);
    next = input.expression.nextAfter(next);
  }
  const graceStart = input.now.getTime() - input.misfireGraceSeconds * 1000;
  const inGrace = due.filter((at) => at.getTime() >= graceStart);
  // With the cap hit, a later claim may still find a fire within the grace: run none yet.
  const capped = next !== null && next.getTime() <= input.now.getTime();
  const run = capped ? null : (inGrace.at(-1) ?? null);
  return {
    skipped: due
      .filter((at) => at !== run)
      .map((fireAt) => ({
        fireAt,
        outcome: fireAt.getTime() >= graceStart ? ('coalesced' as const) : ('misfired' as const),
      })),
    run,
    nextFireAt: next,
  };
}
