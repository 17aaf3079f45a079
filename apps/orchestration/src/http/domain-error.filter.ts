import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { TaskerErrorCode } from '#core';
import { TaskerError } from '#core';

const STATUS_BY_CODE: Record<TaskerErrorCode, number> = {
  validation_failed: HttpStatus.BAD_REQUEST,
  template_invalid: HttpStatus.INTERNAL_SERVER_ERROR,
  template_not_found: HttpStatus.NOT_FOUND,
  task_not_found: HttpStatus.NOT_FOUND,
  step_not_found: HttpStatus.NOT_FOUND,
  schedule_not_found: HttpStatus.NOT_FOUND,
  dlq_entry_not_found: HttpStatus.NOT_FOUND,
  event_not_found: HttpStatus.NOT_FOUND,
  duplicate_task: HttpStatus.CONFLICT,
  illegal_transition: HttpStatus.CONFLICT,
  conflict: HttpStatus.CONFLICT,
  config_invalid: HttpStatus.INTERNAL_SERVER_ERROR,
};

interface HttpResponse {
  status(code: number): { json(body: unknown): void };
}

/** Maps domain errors (core never throws HTTP exceptions) to status codes and a stable body. */
@Catch(TaskerError)
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(error: TaskerError, host: ArgumentsHost): void {
    const status = STATUS_BY_CODE[error.code];
    if (status >= 500) this.logger.error(error.message, error.stack);
    host.switchToHttp().getResponse<HttpResponse>().status(status).json({
      statusCode: status,
      error: error.code,
      message: error.message,
      details: error.details,
    });
  }
}
