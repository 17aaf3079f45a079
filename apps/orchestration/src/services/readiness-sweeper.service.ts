import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import type { LockedTask, Queryable } from '#persistence';
import { Database, findTasksDue, lockTask, reannounceEnqueuedSteps } from '#persistence';
import { PeriodicJob } from './periodic-job.js';
import { type Evaluation, TaskEvaluator } from './task-evaluator.service.js';
import { TaskProgressPublisher } from './task-progress.publisher.js';

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
    private readonly evaluator: TaskEvaluator,
    private readonly publisher: TaskProgressPublisher,
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
      if (await this.onLockedTask(taskUuid, (tx, task) => this.evaluator.evaluate(tx, task)))
        moved++;
    }
    for (const taskUuid of due.staleAnnouncements) {
      const reannounce = async (tx: Queryable): Promise<Evaluation> => ({
        steps: await reannounceEnqueuedSteps(tx, taskUuid),
        ended: null,
      });
      if (await this.onLockedTask(taskUuid, reannounce)) moved++;
    }
    return moved;
  }

  private async onLockedTask(
    taskUuid: string,
    work: (tx: Queryable, task: LockedTask) => Promise<Evaluation>,
  ): Promise<boolean> {
    const progress = await this.database.transaction(async (tx) => {
      const task = await lockTask(tx, taskUuid, { skipLocked: true });
      if (!task) return null;
      const done = { task, ...(await work(tx, task)) };
      await this.publisher.inTransaction(tx, [done]);
      return done;
    });
    if (!progress) return false;
    await this.publisher.afterCommit([progress]);
    return true;
  }
}
