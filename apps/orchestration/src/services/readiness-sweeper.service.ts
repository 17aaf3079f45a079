import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import { TaskerMetrics } from '#observability';
import type { LockedTask, Queryable } from '#persistence';
import { Database, findTasksDue, lockTask, reannounceEnqueuedSteps } from '#persistence';
import { StepAnnouncer } from './step-announcer.service.js';
import { type Evaluation, TaskEvaluator } from './task-evaluator.service.js';

const SWEEP_BATCH = 100;

/**
 * The readiness sweep (ARCHITECTURE §6), in every mode: evaluates tasks whose step retry time
 * has come and re-announces steps whose announcement was lost. Each task is taken with SKIP
 * LOCKED, so replicas sweeping at once work on disjoint tasks.
 */
@Injectable()
export class ReadinessSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReadinessSweeper.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly database: Database,
    private readonly evaluator: TaskEvaluator,
    private readonly announcer: StepAnnouncer,
    private readonly metrics: TaskerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
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
    const result = await this.database.transaction(async (tx) => {
      const task = await lockTask(tx, taskUuid, { skipLocked: true });
      return task ? { task, ...(await work(tx, task)) } : null;
    });
    if (!result) return false;
    if (result.ended) this.metrics.taskEnded(result.task.namespace, result.task.name, result.ended);
    await this.announcer.announce({
      taskUuid,
      namespace: result.task.namespace,
      correlationId: result.task.correlationId,
      traceparent: result.task.traceparent,
      steps: result.steps,
    });
    return true;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.error(`readiness sweep failed: ${String(err)}`))
        .finally(() => {
          if (this.timer !== undefined) this.schedule();
        });
    }, this.config.sweepIntervalMs);
  }
}
