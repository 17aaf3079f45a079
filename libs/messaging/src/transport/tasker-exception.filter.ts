import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Hands a handler's error to the Tasker transport as thrown. Nest's default RPC filter replaces
 * it with `{ message: 'Internal server error' }`, and the transport needs the real one: it logs
 * it and, once a message has failed on every allowed delivery, dead-letters it with it.
 */
@Catch()
export class TaskerExceptionFilter implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
