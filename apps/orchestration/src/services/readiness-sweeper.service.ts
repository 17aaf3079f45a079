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
import { Database, findTasksDue } from '#persistence';
import { OrchestrationUnitOfWork } from './orchestration-unit-of-work.js';
import { PeriodicJob } from './periodic-job.js';

const SWEEP_BATCH = 100;

/**
 * The readiness sweep (ARCHITECTURE §6), in every mode: evaluates tasks whose step retry time
 * has come and re-announces steps whose announcement was lost. Each task is taken with SKIP
 * LOCKED, so replicas sweeping at once work on disjoint tasks.
 */
@Injectable()
export class ReadinessSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly job: PeriodicJob;

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly database: Database,
    private readonly work: OrchestrationUnitOfWork,
  ) {
    this.job = new PeriodicJob(
      'readiness sweep',
      config.sweepIntervalMs,
      () => this.sweep(),
      new Logger(ReadinessSweeper.name),
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** One sweep; returns how many tasks it moved on. */
  async sweep(): Promise<number> {
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
    return moved;
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
