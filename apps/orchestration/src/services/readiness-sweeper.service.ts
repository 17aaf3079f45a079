import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import { type Evaluation, evaluateTasks, type LockedTask, type TaskUnitOfWork } from '#core';
import {
  Database,
  findTasksDue,
  ProcessIdentity,
  pruneConcurrencyKeys,
  takeOverAnnouncements,
} from '#persistence';
import { OrchestrationUnitOfWork } from './orchestration-unit-of-work.js';
import { EventIntake } from './event-intake.service.js';
import { PeriodicJob } from './periodic-job.js';
import { type Announcement, StepAnnouncer } from './step-announcer.service.js';

const SWEEP_BATCH = 100;

/**
 * The readiness sweep (ARCHITECTURE §6), in every mode: evaluates tasks whose step retry time
 * has come; on brokers outside the database, takes over the step messages a replica that died
 * still owed (their lease ran out) and sends them, publishes domain events whose publish
 * failed and hands those a crash left behind to the templates they trigger; and, as the last
 * safety net, re-announces steps left `enqueued` longer than TASKER_REANNOUNCE_AFTER_MS, admits
 * steps waiting for a slot of a limit, whatever left them waiting, and deletes the rows of
 * limit keys nothing uses any more. Tasks, owed messages and keys are taken with SKIP LOCKED,
 * so replicas sweeping at once work on disjoint sets.
 */
@Injectable()
export class ReadinessSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly job: PeriodicJob;
  private readonly logger = new Logger(ReadinessSweeper.name);

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly database: Database,
    private readonly work: OrchestrationUnitOfWork,
    private readonly announcer: StepAnnouncer,
    private readonly identity: ProcessIdentity,
    private readonly intake: EventIntake,
  ) {
    this.job = new PeriodicJob(
      'readiness sweep',
      config.sweepIntervalMs,
      () => this.sweep(),
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** One sweep; returns how many tasks it moved on (or whose owed messages it took over). */
  async sweep(): Promise<number> {
    const orphaned = await this.takeOverOwedMessages();
    await this.work.events.republishLeftovers();
    await this.intake.receiveLeftovers();
    const due = await findTasksDue(this.database.pool, SWEEP_BATCH, this.config.reannounceAfterMs);
    let moved = 0;
    for (const taskUuid of due.dueRetries) {
      const evaluate = async (uow: TaskUnitOfWork, task: LockedTask) =>
        (await evaluateTasks(uow, [task], this.work.limits))[0]!;
      if (await this.onLockedTask(taskUuid, evaluate)) moved++;
    }
    for (const taskUuid of due.staleAnnouncements) {
      const reannounce = async (uow: TaskUnitOfWork): Promise<Evaluation> => ({
        steps: await uow.reannounceEnqueuedSteps(taskUuid),
        ended: null,
      });
      if (await this.onLockedTask(taskUuid, reannounce)) moved++;
    }
    // Steps a skipped lock, a crash or a rate limit left waiting with a slot free.
    if (due.stepsWaitForSlots) await this.work.admit('all');
    // Keys such as customer ids come and go: their rows go once nothing uses them.
    if (due.limitKeysKept) await pruneConcurrencyKeys(this.database.pool, SWEEP_BATCH);
    return moved + orphaned;
  }

  /**
   * Brokers outside the database: the step messages whose owner stopped renewing its lease,
   * now this replica's, sent (or owed here, if the broker is away). Answers how many tasks.
   */
  private async takeOverOwedMessages(): Promise<number> {
    if (this.work.sendsWithState) return 0;
    const owed = await takeOverAnnouncements(
      this.database.pool,
      this.identity.processorUuid,
      this.config.announceLeaseMs,
      SWEEP_BATCH,
    );
    if (owed.length === 0) return 0;
    this.logger.warn(
      `took over ${owed.length} step message(s) another replica owed for over ${this.config.announceLeaseMs} ms`,
    );
    const byTask = new Map<string, Announcement>();
    for (const { stepUuid, stepName, ...task } of owed) {
      const announcement = byTask.get(task.taskUuid) ?? { ...task, steps: [] };
      announcement.steps.push({ stepUuid, stepName });
      byTask.set(task.taskUuid, announcement);
    }
    await this.announcer.announceAll([...byTask.values()]);
    return byTask.size;
  }

  /** Runs `work` on the task unless another replica holds it; answers whether it ran. */
  private onLockedTask(
    taskUuid: string,
    work: (uow: TaskUnitOfWork, task: LockedTask) => Promise<Evaluation>,
  ): Promise<boolean> {
    return this.work.run(async (uow) => {
      const task = await uow.lockTask(taskUuid, { skipLocked: true });
      if (!task) return { progress: [], value: false };
      return { progress: [{ task, ...(await work(uow, task)) }], value: true };
    });
  }
}
