/**
 * Domain errors. Core never throws HTTP exceptions: the edges map `code` to a status
 * (HTTP filter) or to retry/dead-letter (transport).
 */
export type TaskerErrorCode =
  | 'validation_failed'
  | 'template_invalid'
  | 'template_not_found'
  | 'task_not_found'
  | 'step_not_found'
  | 'schedule_not_found'
  | 'dlq_entry_not_found'
  | 'event_not_found'
  | 'duplicate_task'
  | 'illegal_transition'
  | 'conflict'
  | 'config_invalid';

export class TaskerError extends Error {
  constructor(
    readonly code: TaskerErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends TaskerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('validation_failed', message, details);
  }
}

/** One or more problems in a template file; each problem names the file and, where known, the step. */
export class TemplateValidationError extends TaskerError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super('template_invalid', `${source}: ${problems.join('; ')}`, { source, problems });
  }
}

export class TemplateNotFoundError extends TaskerError {
  constructor(namespace: string, name: string, version?: string) {
    super(
      'template_not_found',
      `no template ${namespace}/${name}${version ? `@${version}` : ''} is registered`,
      { namespace, name, version },
    );
  }
}

export class TaskNotFoundError extends TaskerError {
  constructor(taskUuid: string) {
    super('task_not_found', `task ${taskUuid} does not exist`, { taskUuid });
  }
}

export class StepNotFoundError extends TaskerError {
  constructor(taskUuid: string, stepUuid: string) {
    super('step_not_found', `step ${stepUuid} of task ${taskUuid} does not exist`, {
      taskUuid,
      stepUuid,
    });
  }
}

export class ScheduleNotFoundError extends TaskerError {
  constructor(scheduleUuid: string) {
    super('schedule_not_found', `schedule ${scheduleUuid} does not exist`, { scheduleUuid });
  }
}

export class DlqEntryNotFoundError extends TaskerError {
  constructor(dlqEntryUuid: string) {
    super('dlq_entry_not_found', `DLQ entry ${dlqEntryUuid} does not exist`, { dlqEntryUuid });
  }
}

export class EventNotFoundError extends TaskerError {
  constructor(eventId: string) {
    super('event_not_found', `event ${eventId} does not exist`, { eventId });
  }
}

export class DuplicateTaskError extends TaskerError {
  constructor(readonly existingTaskUuid: string) {
    super('duplicate_task', `a task with the same identity already exists: ${existingTaskUuid}`, {
      existingTaskUuid,
    });
  }
}

export class ConflictError extends TaskerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('conflict', message, details);
  }
}

export class IllegalTransitionError extends TaskerError {
  constructor(entity: 'task' | 'step', from: string | null, to: string) {
    super('illegal_transition', `${entity} cannot move from ${from ?? '(none)'} to ${to}`, {
      entity,
      from,
      to,
    });
  }
}

export class ConfigError extends TaskerError {
  constructor(readonly problems: string[]) {
    super('config_invalid', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      problems,
    });
  }
}

/** The message of anything thrown, for log lines and error texts. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
