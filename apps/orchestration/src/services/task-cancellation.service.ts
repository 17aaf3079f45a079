import { Injectable } from '@nestjs/common';
import { TaskerMetrics } from '#observability';
import { ConflictError, isTerminalTaskState, TaskNotFoundError } from '#core';
import { Database, lockTask, transitionTask, ProcessIdentity } from '#persistence';
import { AdmissionRequests } from './admission-requests.js';

/**
 * DELETE /v1/tasks/:id: the task and every unfinished step become `cancelled` in one
 * transaction. Workers then fail to claim (or to record) those steps, so nothing runs on.
 */
@Injectable()
export class TaskCancellationService {
  constructor(
    private readonly database: Database,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
    private readonly admissions: AdmissionRequests,
  ) {}

  async cancel(taskUuid: string, reason?: string): Promise<{ cancelledSteps: number }> {
    const done = await this.database.transaction(async (tx) => {
      const task = await lockTask(tx, taskUuid);
      if (!task) throw new TaskNotFoundError(taskUuid);
      if (isTerminalTaskState(task.state)) {
        throw new ConflictError(`task ${taskUuid} already ended as ${task.state}`, {
          status: task.state,
        });
      }
      const metadata = { reason: reason ?? 'cancelled by request' };
      // The task's end cancels its unfinished steps in the same statement (transitionTask).
      const moved = await transitionTask(
        tx,
        taskUuid,
        [task.state],
        ['cancelled'],
        metadata,
        this.identity.processorUuid,
      );
      if (!moved) throw new ConflictError(`task ${taskUuid} is no longer ${task.state}`);
      return { task, cancelledSteps: moved.endedSteps.length };
    });
    this.metrics.taskEnded(done.task.namespace, done.task.name, 'cancelled');
    // Its slots are free: the steps waiting for them go now, not at the next sweep.
    if (done.task.limited) await this.admissions.request([taskUuid]);
    return { cancelledSteps: done.cancelledSteps };
  }
}
