import { Injectable, Logger } from '@nestjs/common';
import { errorMessage, GroupCommit } from '#core';

/**
 * Asks, after a commit, that waiting steps of these tasks' limits be admitted: a submission
 * whose root steps wait for a slot, a cancellation that freed one. OrchestrationUnitOfWork serves
 * the requests (it comes after these services in the dependency graph, so they cannot call it);
 * requests made together are admitted in one unit of work. A failure is logged, never passed to
 * the caller, whose work is committed: the readiness sweep admits what it leaves.
 */
@Injectable()
export class AdmissionRequests {
  private readonly logger = new Logger(AdmissionRequests.name);
  private admit: ((taskUuids: readonly string[]) => Promise<void>) | null = null;
  private readonly batches = new GroupCommit<string, void>(
    async (taskUuids) => {
      await this.admit?.([...new Set(taskUuids)]);
      return taskUuids.map(() => undefined);
    },
    { maxBatch: 500 },
  );

  serve(admit: (taskUuids: readonly string[]) => Promise<void>): void {
    this.admit = admit;
  }

  async request(taskUuid: string): Promise<void> {
    try {
      await this.batches.submit(taskUuid);
    } catch (err) {
      this.logger.warn(`admitting waiting steps failed (the sweep retries): ${errorMessage(err)}`);
    }
  }
}
