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
  taskMovedSince,
  transitionTask,
} from '#persistence';
import { AdmissionRequests } from './admission-requests.js';
import { PeriodicJob } from './periodic-job.js';

const DETECTION_BATCH = 100;

/**
 * Staleness detection: every replica periodically looks for tasks stuck past their thresholds
 * (ARCHITECTURE: stuck work is found), moves each to `error` and records a DLQ entry with a
 * snapshot. Tasks are taken with SKIP LOCKED and re-checked under the lock (state and any step
 * or task transition since the candidates were read), and a task has one open entry at most,
 * so replicas detecting at once never double up. A task under a limit that it moves to `error`
 * gives up its slots: admission is asked for its keys after the commit, as for any other end of
 * a hold, so the next waiter starts and a cancel strategy does not count the slot's stale row.
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
    private readonly admissions: AdmissionRequests,
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
    const moved: StaleTask[] = [];
    for (const stale of await this.candidates(now)) {
      if (await this.giveUp(stale)) moved.push(stale);
    }
    return moved;
  }

  /** Tasks that look stuck at `now`, read without locks: each is checked again by giveUp. */
  candidates(now: Date): Promise<StaleTask[]> {
    return findStaleTasks(this.database.pool, now, this.config.staleness, DETECTION_BATCH);
  }

  /**
   * Moves one candidate to `error` with a DLQ entry, unless it is held elsewhere or moved on
   * since the candidates were read. Returns whether it did.
   */
  async giveUp(stale: StaleTask): Promise<boolean> {
    const done = await this.database.transaction(async (tx) => {
      const task = await lockTask(tx, stale.taskUuid, { skipLocked: true });
      // Held elsewhere, or moved on since the candidates were read: not stuck after all.
      if (!task || task.state !== stale.state) return null;
      if (await taskMovedSince(tx, stale.taskUuid, stale.lastActivityAt)) return null;
      // The snapshot shows the steps as they were stuck, before the task's end moves them.
      await recordDlqEntry(tx, stale);
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
      return task;
    });
    if (!done) return false;
    if (done.limited) await this.admissions.request([stale.taskUuid]);
    this.metrics.taskEnded(done.namespace, done.name, 'error');
    this.metrics.taskStale(done.namespace, done.name, stale.reason);
    this.logger.warn(
      `task ${stale.taskUuid} ${stale.reason.replaceAll('_', ' ')} (${stale.stuckForSeconds}s, threshold ${stale.thresholdMinutes} min): moved to error, DLQ entry recorded`,
    );
    return true;
  }
}
