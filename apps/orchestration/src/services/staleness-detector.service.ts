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
import {
  Database,
  findStaleTasks,
  lockTask,
  ProcessIdentity,
  recordDlqEntry,
  type StaleTask,
  transitionTask,
} from '#persistence';
import { PeriodicJob } from './periodic-job.js';

const DETECTION_BATCH = 100;

/**
 * Staleness detection: every replica periodically looks for tasks stuck past their thresholds
 * (ARCHITECTURE: stuck work is found), moves each to `error` and records a DLQ entry with a
 * snapshot. Tasks are taken with SKIP LOCKED and re-checked under the lock, and a task has one
 * open entry at most, so replicas detecting at once never double up.
 */
@Injectable()
export class StalenessDetector implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StalenessDetector.name);
  private readonly job: PeriodicJob;

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly database: Database,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
  ) {
    this.job = new PeriodicJob(
      'staleness detection',
      config.stalenessIntervalMs,
      () => this.detect(new Date()),
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** One detection at `now` (a parameter so tests can move the clock); returns the tasks moved. */
  async detect(now: Date): Promise<StaleTask[]> {
    const candidates = await findStaleTasks(
      this.database.pool,
      now,
      this.config.staleness,
      DETECTION_BATCH,
    );
    const moved: StaleTask[] = [];
    for (const stale of candidates) {
      const done = await this.database.transaction(async (tx) => {
        const task = await lockTask(tx, stale.taskUuid, { skipLocked: true });
        // Held elsewhere, or moved on since the candidates were read: not stuck after all.
        if (!task || task.state !== stale.state) return null;
        await transitionTask(
          tx,
          stale.taskUuid,
          [stale.state],
          ['error'],
          {
            reason: stale.reason,
            thresholdMinutes: stale.thresholdMinutes,
            stuckForSeconds: stale.stuckForSeconds,
          },
          this.identity.processorUuid,
        );
        await recordDlqEntry(tx, stale);
        return task;
      });
      if (!done) continue;
      moved.push(stale);
      this.metrics.taskEnded(done.namespace, done.name, 'error');
      this.metrics.taskStale(done.namespace, done.name, stale.reason);
      this.logger.warn(
        `task ${stale.taskUuid} ${stale.reason.replaceAll('_', ' ')} (${stale.stuckForSeconds}s, threshold ${stale.thresholdMinutes} min): moved to error, DLQ entry recorded`,
      );
    }
    return moved;
  }
}
