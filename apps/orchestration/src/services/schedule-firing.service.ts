import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import {
  errorMessage,
  parseScheduleExpression,
  planDueFires,
  type ScheduleRunOutcome,
  TaskerError,
  TERMINAL_TASK_STATES,
} from '#core';
import { TaskerMetrics } from '#observability';
import {
  advanceSchedule,
  claimDueSchedule,
  Database,
  type DueSchedule,
  type Queryable,
  recordScheduleRuns,
  type ScheduleRecord,
  type ScheduleRun,
  ScheduleRepository,
} from '#persistence';
import { type CreatedTask, TaskSubmissionService } from './task-submission.service.js';

/** Schedules handled per look; with more due, the next look starts at once. */
const MAX_SCHEDULES_PER_LOOK = 100;
/** A due schedule another replica holds is looked at again this soon. */
const HELD_ELSEWHERE_RETRY_MS = 200;

interface Handled {
  schedule: DueSchedule;
  runs: ScheduleRun[];
  created: CreatedTask | null;
}

/**
 * Fires due schedules (ARCHITECTURE: schedules). Every replica runs it: each schedule is
 * claimed with SKIP LOCKED and moved on in the transaction that creates its task, and a task's
 * identity derives from (schedule, fire time), so a fire creates one task whoever looks first.
 * It sleeps until the earliest known fire, at most the poll interval (a schedule written on
 * another replica is seen within that interval; one written here wakes it at once).
 */
@Injectable()
export class ScheduleFiring implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ScheduleFiring.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = false;

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly database: Database,
    private readonly schedules: ScheduleRepository,
    private readonly submission: TaskSubmissionService,
    private readonly metrics: TaskerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.schedulerEnabled) this.arm(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** A schedule changed here: look again now instead of at the planned time. */
  wake(): void {
    if (!this.config.schedulerEnabled || this.stopped) return;
    if (this.running) this.wakeRequested = true;
    else this.arm(0);
  }

  /**
   * Handles every schedule due at `now` (the clock is a parameter so tests can move it).
   * Returns how many schedules it handled and whether more were left for another look.
   */
  async fireDue(now: Date): Promise<{ handled: number; more: boolean }> {
    let handled = 0;
    while (handled < MAX_SCHEDULES_PER_LOOK) {
      const result = await this.database.transaction((tx) => this.handleOne(tx, now));
      if (!result) return { handled, more: false };
      handled++;
      await this.afterCommit(result);
    }
    return { handled, more: true };
  }

  private async handleOne(tx: Queryable, now: Date): Promise<Handled | null> {
    const schedule = await claimDueSchedule(tx, now);
    if (!schedule) return null;
    let plan;
    try {
      plan = planDueFires({
        expression: parseScheduleExpression(schedule),
        firstDue: schedule.nextFireAt,
        now,
        misfireGraceSeconds: schedule.misfireGraceSeconds,
      });
    } catch (err) {
      // Validated when written; a stored expression that no longer parses ends the schedule.
      const runs = [failedRun(schedule.nextFireAt, `expression: ${errorMessage(err)}`)];
      await recordScheduleRuns(tx, schedule.scheduleUuid, runs);
      await advanceSchedule(tx, schedule.scheduleUuid, { nextFireAt: null });
      return { schedule, runs, created: null };
    }

    const runs: ScheduleRun[] = plan.skipped.map((s) => ({
      fireAt: s.fireAt,
      trigger: 'schedule',
      outcome: s.outcome,
      taskUuid: null,
      detail: null,
    }));
    let created: CreatedTask | null = null;
    if (plan.run) {
      const running =
        schedule.lastTaskState !== null && !TERMINAL_TASK_STATES.includes(schedule.lastTaskState);
      if (schedule.overlap === 'skip' && running) {
        runs.push({
          fireAt: plan.run,
          trigger: 'schedule',
          outcome: 'skipped_overlap',
          taskUuid: schedule.lastTaskUuid,
          detail: `task ${schedule.lastTaskUuid} is still ${schedule.lastTaskState}`,
        });
      } else {
        const attempt = await this.createTask(tx, schedule, plan.run, 'schedule');
        created = attempt.created;
        runs.push(attempt.run);
      }
    }
    await recordScheduleRuns(tx, schedule.scheduleUuid, runs);
    await advanceSchedule(tx, schedule.scheduleUuid, {
      nextFireAt: plan.nextFireAt,
      lastFireAt: plan.run ?? undefined,
      lastTaskUuid: created?.taskUuid,
    });
    return { schedule, runs, created };
  }

  /**
   * Creates the schedule's task for one fire inside `tx`. A domain error (the template is gone,
   * the context no longer fits it) is recorded as a failed run; anything else aborts `tx`.
   */
  async createTask(
    tx: Queryable,
    schedule: ScheduleRecord,
    fireAt: Date,
    trigger: ScheduleRun['trigger'],
  ): Promise<{ created: CreatedTask | null; run: ScheduleRun }> {
    await tx.query('SAVEPOINT schedule_fire');
    try {
      const created = await this.submission.create(
        tx,
        {
          namespace: schedule.namespace,
          name: schedule.name,
          version: schedule.version ?? undefined,
          context: schedule.context,
          // The identity of a scheduled task is its fire: a second attempt is a duplicate.
          idempotencyKey:
            trigger === 'schedule'
              ? `schedule:${schedule.scheduleUuid}:${fireAt.toISOString()}`
              : `schedule:${schedule.scheduleUuid}:manual:${crypto.randomUUID()}`,
          initiator: 'scheduler',
          sourceSystem: 'tasker-schedules',
          reason: `schedule ${schedule.scheduleUuid} ${trigger === 'schedule' ? 'fired' : 'run now'} at ${fireAt.toISOString()}`,
          tags: ['schedule'],
        },
        { schedule: { scheduleUuid: schedule.scheduleUuid, fireAt } },
      );
      await tx.query('RELEASE SAVEPOINT schedule_fire');
      return {
        created,
        run: { fireAt, trigger, outcome: 'created', taskUuid: created.taskUuid, detail: null },
      };
    } catch (err) {
      if (!(err instanceof TaskerError)) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT schedule_fire');
      return { created: null, run: { ...failedRun(fireAt, err.message), trigger } };
    }
  }

  /** Metrics, logs and the first step messages, once the fire is committed. */
  async afterCommit(result: {
    schedule: ScheduleRecord;
    runs: ScheduleRun[];
    created: CreatedTask | null;
  }): Promise<void> {
    const { schedule } = result;
    for (const run of result.runs) {
      const lag =
        run.outcome === 'created' && run.trigger === 'schedule'
          ? (Date.now() - run.fireAt.getTime()) / 1000
          : undefined;
      this.metrics.scheduleFired(schedule.namespace, schedule.name, run.outcome, lag);
      if (run.outcome === 'failed' || run.outcome === 'misfired') {
        this.logger.warn(
          `schedule ${schedule.scheduleUuid} fire at ${run.fireAt.toISOString()} ${run.outcome}${run.detail ? `: ${run.detail}` : ''}`,
        );
      }
    }
    if (result.created) await this.submission.announceCreated(result.created);
  }

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.look().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
  }

  /**
   * One look: a single query when nothing is due (the earliest fire), so an idle replica costs
   * one query per poll interval; the claims run only once something is due.
   */
  private async look(): Promise<void> {
    let delay = this.config.schedulerPollIntervalMs;
    try {
      const earliest = await this.schedules.earliestFire();
      const wait = earliest ? earliest.getTime() - Date.now() : Number.POSITIVE_INFINITY;
      if (wait > 0) delay = Math.min(wait, delay);
      else {
        const { handled, more } = await this.fireDue(new Date());
        // Fired some: look again at once for the next fire time (or the rest of a full
        // batch). Fired none: another replica holds what is due; look again shortly.
        delay = more || handled > 0 ? 0 : HELD_ELSEWHERE_RETRY_MS;
      }
    } catch (err) {
      this.logger.error(`firing schedules failed, retrying: ${errorMessage(err)}`);
    }
    if (this.wakeRequested) {
      this.wakeRequested = false;
      delay = 0;
    }
    if (!this.stopped) this.arm(delay);
  }
}

function failedRun(fireAt: Date, detail: string): ScheduleRun {
  return {
    fireAt,
    trigger: 'schedule',
    outcome: 'failed' satisfies ScheduleRunOutcome,
    taskUuid: null,
    detail,
  };
}
