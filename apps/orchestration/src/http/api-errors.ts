import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBodyView } from './views/error-body.view.js';

/** The error replies a route gives beyond those every route shares (see openapi.ts). */
const ROUTE_ERRORS = {
  404: 'No such task, step, template, schedule or DLQ entry',
  409: 'The request conflicts with the current state (a duplicate task, an action that does not apply)',
  503: 'Backpressure: the worker queue of the namespace is over TASKER_MAX_QUEUE_DEPTH (see Retry-After)',
} as const;

export type RouteErrorStatus = keyof typeof ROUTE_ERRORS;

/** Documents a route's own error replies, each with the error body. */
export function ApiErrors(...statuses: RouteErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: ROUTE_ERRORS[status], type: ErrorBodyView }),
    ),
  );
}
