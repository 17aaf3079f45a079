import {
  ENQUEUEABLE_STEP_STATES,
  isRetryEligible,
  SATISFIED_STEP_STATES,
  STEP_STATES,
  type StepState,
} from '#core';
import { insertTaskRows, type StepRowSpec, useDatabasePool } from '#testing';

/**
 * Readiness is decided in SQL (tasker.ready_steps, which enqueueReadyStepsOfTasks moves) while
 * its parts are rules of core: the states a step is enqueued from, retry eligibility, and the
 * parent states that satisfy a dependency. This pins the SQL to core on every combination, so
 * a change to either side that the other does not follow fails here.
 */
describe('tasker.ready_steps follows core readiness rules', () => {
  const db = useDatabasePool();

  const ATTEMPTS = [0, 1, 3];
  const RETRY_IN = [null, -1, 600] as const;

  interface Case {
    parent: StepState | null;
    state: StepState;
    attempts: number;
    retryable: boolean;
    retryIn: number | null;
  }

  /** What core says: enqueueable state, a retry left, retry time come, parents satisfied. */
  const readyByCore = (c: Case) =>
    ENQUEUEABLE_STEP_STATES.includes(c.state) &&
    isRetryEligible({ retryable: c.retryable, attempts: c.attempts, maxAttempts: 3 }) &&
    (c.retryIn === null || c.retryIn < 0) &&
    (c.parent === null || SATISFIED_STEP_STATES.includes(c.parent));

  it('on every state, attempt count, retryability, retry time and parent state', async () => {
    const cases: Case[] = [];
    const byName = new Map<string, Case>();
    const taskUuids: string[] = [];
    const stepNames = new Map<string, string>();
    for (const parent of [null, ...STEP_STATES]) {
      const steps: StepRowSpec[] = parent ? [{ name: 'parent', state: parent, attempts: 1 }] : [];
      for (const state of STEP_STATES) {
        for (const attempts of ATTEMPTS) {
          for (const retryable of [true, false]) {
            for (const retryIn of RETRY_IN) {
              const c: Case = { parent, state, attempts, retryable, retryIn };
              const name = `${state}_${attempts}_${retryable}_${retryIn}`;
              steps.push({
                name,
                state,
                attempts,
                maxAttempts: 3,
                retryable,
                ...(retryIn === null ? {} : { retryInSeconds: retryIn }),
                ...(parent ? { dependsOn: ['parent'] } : {}),
              });
              cases.push(c);
              byName.set(`${parent}/${name}`, c);
            }
          }
        }
      }
      const { taskUuid, stepUuids } = await insertTaskRows(db.pool, {
        namespace: `ready_rule_${parent ?? 'root'}`,
        taskState: 'steps_in_process',
        steps,
      });
      taskUuids.push(taskUuid);
      for (const [name, uuid] of Object.entries(stepUuids)) {
        stepNames.set(uuid, `${parent}/${name}`);
      }
    }

    const { rows } = await db.pool.query<{ workflow_step_uuid: string }>(
      'SELECT workflow_step_uuid FROM tasker.ready_steps($1::uuid[])',
      [taskUuids],
    );
    const readyInSql = new Set(rows.map((r) => stepNames.get(r.workflow_step_uuid)));
    const disagreements = [...byName.entries()]
      .filter(([key, c]) => readyInSql.has(key) !== readyByCore(c))
      .map(([key]) => `${key}: SQL ${readyInSql.has(key) ? 'ready' : 'not ready'}`);
    expect(disagreements).toEqual([]);
    // The matrix exercises both answers, on every side of every rule.
    expect(cases.length).toBe(11 * STEP_STATES.length * ATTEMPTS.length * 2 * RETRY_IN.length);
    const ready = cases.filter(readyByCore);
    expect(ready.length).toBeGreaterThan(0);
    expect(new Set(ready.map((c) => c.state))).toEqual(new Set(ENQUEUEABLE_STEP_STATES));
  });
});
