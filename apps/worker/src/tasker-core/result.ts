/**
 * Tasker Core's handler results (its TypeScript worker's `StepHandlerResult` and `ErrorType`),
 * as our own code: a handler class returns one, and the adapter (adapter.ts) turns it into
 * what our worker records.
 */

/** The error types Tasker Core's handlers report; any other string is accepted too. */
export enum ErrorType {
  PERMANENT_ERROR = 'permanent_error',
  RETRYABLE_ERROR = 'retryable_error',
  VALIDATION_ERROR = 'validation_error',
  TIMEOUT = 'timeout',
  HANDLER_ERROR = 'handler_error',
}

export function isStandardErrorType(errorType: string): boolean {
  return (Object.values(ErrorType) as string[]).includes(errorType);
}

/** Whether a failure of this type is usually worth retrying. */
export function isTypicallyRetryable(errorType: string): boolean {
  return ([ErrorType.RETRYABLE_ERROR, ErrorType.TIMEOUT] as string[]).includes(errorType);
}

export interface StepHandlerResultParams {
  success: boolean;
  result?: Record<string, unknown> | null;
  errorMessage?: string | null;
  errorType?: string | null;
  errorCode?: string | null;
  retryable?: boolean;
  metadata?: Record<string, unknown>;
}

/** What a handler's `call` answers: a result, or a failure that says whether to retry. */
export class StepHandlerResult {
  readonly success: boolean;
  readonly result: Record<string, unknown> | null;
  readonly errorMessage: string | null;
  readonly errorType: string | null;
  readonly errorCode: string | null;
  readonly retryable: boolean;
  readonly metadata: Record<string, unknown>;

  constructor(params: StepHandlerResultParams) {
    this.success = params.success;
    this.result = params.result ?? null;
    this.errorMessage = params.errorMessage ?? null;
    this.errorType = params.errorType ?? null;
    this.errorCode = params.errorCode ?? null;
    this.retryable = params.retryable ?? true;
    this.metadata = params.metadata ?? {};
  }

  static success(
    result: Record<string, unknown>,
    metadata?: Record<string, unknown>,
  ): StepHandlerResult {
    return new StepHandlerResult({ success: true, result, metadata: metadata ?? {} });
  }

  static failure(
    message: string,
    errorType: ErrorType | string = ErrorType.HANDLER_ERROR,
    retryable = true,
    metadata?: Record<string, unknown>,
    errorCode?: string,
  ): StepHandlerResult {
    return new StepHandlerResult({
      success: false,
      errorMessage: message,
      errorType,
      errorCode: errorCode ?? null,
      retryable,
      metadata: metadata ?? {},
    });
  }

  isSuccess(): boolean {
    return this.success;
  }

  isFailure(): boolean {
    return !this.success;
  }

  toJSON(): Record<string, unknown> {
    return {
      success: this.success,
      result: this.result,
      error_message: this.errorMessage,
      error_type: this.errorType,
      error_code: this.errorCode,
      retryable: this.retryable,
      metadata: this.metadata,
    };
  }
}
