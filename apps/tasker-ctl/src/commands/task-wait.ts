import { clearScreenDown, moveCursor } from 'node:readline';
import { type TaskerClient, TaskerWaitTimeoutError } from '#client';
import type { StepState, TaskView } from '#core';
import { completedSteps, stepOutcome } from './task-view.js';
import { inDagOrder } from './template-graph.js';

/** How a progress display shows one reading of the task. */
interface ProgressDisplay {
  show(task: TaskView, elapsedMs: number): void;
}

/**
 * Polls the task until it reaches a terminal state or `timeoutMs` passes, showing progress on
 * stderr: redrawn in place on a terminal, else one line per change. Returns the last reading.
 */
export async function waitForTask(
  api: TaskerClient,
  taskUuid: string,
  timeoutMs: number | undefined,
): Promise<{ task: TaskView; timedOut: boolean }> {
  const display: ProgressDisplay = process.stderr.isTTY ? new RedrawnDisplay() : new LineDisplay();
  try {
    const task = await api.tasks.waitFor(taskUuid, {
      timeoutMs,
      onReading: (reading, elapsedMs) => display.show(reading, elapsedMs),
    });
    return { task, timedOut: false };
  } catch (err) {
    if (err instanceof TaskerWaitTimeoutError) return { task: err.task, timedOut: true };
    throw err;
  }
}

function summary(task: TaskView): string {
  return `${task.status} ${task.completionPercentage}% (${completedSteps(task)}/${task.totalSteps} steps)`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** For logs and pipes: a line when the task's status or a step's state or attempt changes. */
class LineDisplay implements ProgressDisplay {
  private status = '';
  private readonly steps = new Map<string, string>();

  show(task: TaskView, elapsedMs: number): void {
    const at = `+${seconds(elapsedMs)}`;
    const lines: string[] = [];
    for (const step of inDagOrder(task.steps)) {
      const seen = `${step.state}/${step.attempts}`;
      if (this.steps.get(step.name) === seen) continue;
      this.steps.set(step.name, seen);
      const outcome = step.state === 'complete' || step.error ? ` ${stepOutcome(step)}` : '';
      lines.push(`${at} step ${step.name}: ${step.state} (attempt ${step.attempts})${outcome}`);
    }
    if (task.status !== this.status) {
      this.status = task.status;
      lines.push(`${at} task ${task.taskUuid}: ${summary(task)}`);
    }
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
  }
}

const MARKS: Partial<Record<StepState, string>> = {
  complete: '✔',
  resolved_manually: '✔',
  error: '✖',
  cancelled: '⊘',
  in_progress: '▶',
  waiting_for_retry: '↻',
  enqueued_as_error_for_orchestration: '!',
};

/** For a terminal: the task and every step, redrawn in place on each reading. */
class RedrawnDisplay implements ProgressDisplay {
  private drawn = 0;

  show(task: TaskView, elapsedMs: number): void {
    const stream = process.stderr;
    const width = Math.max(20, stream.columns || 80);
    const nameWidth = Math.max(...task.steps.map((s) => s.name.length));
    const stateWidth = Math.max(...task.steps.map((s) => s.state.length));
    const lines = [
      // The task's id is on the line above ("created task …"): keep this one short.
      `${task.namespace}/${task.name}@${task.version}  ${summary(task)}  ${seconds(elapsedMs)}`,
      ...inDagOrder(task.steps).map((step) => {
        const outcome = step.error ? `  ${stepOutcome(step)}` : '';
        return `  ${MARKS[step.state] ?? '·'} ${step.name.padEnd(nameWidth)}  ${step.state.padEnd(stateWidth)}  attempt ${step.attempts}/${step.maxAttempts}${outcome}`;
      }),
    ].map((line) => (line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line));
    if (this.drawn > 0) {
      moveCursor(stream, 0, -this.drawn);
      clearScreenDown(stream);
    }
    stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
