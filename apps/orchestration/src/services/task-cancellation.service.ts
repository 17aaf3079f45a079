import { Injectable } from '@nestjs/common';
import { TaskerMetrics } from '#observability';
import { ConflictError, isTerminalTaskState, TaskNotFoundError } from '#core';
import { Database, lockTask, transitionSteps, transitionTask, ProcessIdentity } from '#persistence';

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
      const processor = this.identity.processorUuid;
      const metadata = { reason: reason ?? 'cancelled by request' };
      await transitionTask(tx, taskUuid, [task.state], ['cancelled'], metadata, processor);
      const { rows } = await tx.query<{ workflow_step_uuid: string }>(
        'SELECT workflow_step_uuid FROM tasker.workflow_steps WHERE task_uuid = $1',
        [taskUuid],
      );
      const cancelled = await transitionSteps(tx, {
        stepUuids: rows.map((r) => r.workflow_step_uuid),
        to: 'cancelled',
        metadata,
        processorUuid: processor,
      });
      await tx.query(
        'UPDATE tasker.workflow_steps SET next_retry_at = NULL WHERE workflow_step_uuid = ANY ($1::uuid[])',
        [cancelled],
      );
      return { task, cancelledSteps: cancelled.length };
    });
    this.metrics.taskEnded(done.task.namespace, done.task.name, 'cancelled');
    return { cancelledSteps: done.cancelledSteps };
  }
}
