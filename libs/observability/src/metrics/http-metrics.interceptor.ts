import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { TaskerMetrics } from './tasker.metrics.js';

/** The parts of Express's request and response read here. */
interface HttpRequest {
  method: string;
  route?: { path?: string };
}
interface HttpResponse {
  statusCode: number;
}

/** Times every HTTP request, labelled by the route template (never the raw path). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: TaskerMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const stop = this.metrics.httpDuration.startTimer();
    const route = request.route?.path ?? 'unmatched';
    const done = (status: number) => stop({ method: request.method, route, status });
    return next.handle().pipe(
      tap({
        next: () => done(http.getResponse<HttpResponse>().statusCode),
        error: (err: { status?: number }) => done(err.status ?? 500),
      }),
    );
  }
}
