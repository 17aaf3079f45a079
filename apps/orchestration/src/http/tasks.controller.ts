import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type * as core from '#core';
import { TaskQueryRepository } from '#persistence';
import { TaskCancellationService } from '../services/task-cancellation.service.js';
import { TaskSubmissionService } from '../services/task-submission.service.js';
import { ApiErrors } from './api-errors.js';
import { Backpressure, RETRY_AFTER_SECONDS } from './backpressure.service.js';
import { CancelTaskQuery } from './dto/cancel-task.query.js';
import { CreateTaskDto } from './dto/create-task.dto.js';
import { ListTasksQuery } from './dto/list-tasks.query.js';
import {
  CancelledTask,
  StepTransitionList,
  SubmittedTask,
  TaskPage,
  TaskView,
} from './views/task.view.js';

const uuidPipe = new ParseUUIDPipe({ version: undefined });

@ApiTags('tasks')
@Controller('v1/tasks')
export class TasksController {
  constructor(
    private readonly submission: TaskSubmissionService,
    private readonly cancellation: TaskCancellationService,
    private readonly tasks: TaskQueryRepository,
    private readonly backpressure: Backpressure,
  ) {}

  /** A W3C `traceparent` header joins the caller's trace; the reply names the task's trace. */
  @Post()
  @ApiOperation({
    summary: 'Submit a task: a template run with a context; its root steps are enqueued at once',
  })
  @ApiHeader({ name: 'traceparent', required: false, description: 'W3C trace context to join' })
  @ApiCreatedResponse({
    type: SubmittedTask,
    headers: { traceparent: { description: "The task's trace", schema: { type: 'string' } } },
  })
  @ApiErrors(404, 409, 503)
  async create(
    @Body() body: CreateTaskDto,
    @Headers('traceparent') traceparent: string | undefined,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): void },
  ): Promise<core.SubmittedTask> {
    const refusal = await this.backpressure.refusal(body.namespace);
    if (refusal) {
      response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      throw new ServiceUnavailableException(refusal);
    }
    const submitted = await this.submission.submit({ ...body, traceparent });
    response.setHeader('traceparent', submitted.traceparent);
    return submitted;
  }

  @Get()
  @ApiOperation({ summary: 'List tasks, newest first, filtered and paged by cursor' })
  @ApiOkResponse({ type: TaskPage })
  list(@Query() query: ListTasksQuery): Promise<core.TaskPage> {
    return this.tasks.list({
      namespace: query.namespace,
      name: query.name,
      status: query.status,
      correlationId: query.correlationId,
      requestedFrom: query.requestedFrom ? new Date(query.requestedFrom) : undefined,
      requestedBefore: query.requestedBefore ? new Date(query.requestedBefore) : undefined,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
  }

  @Get(':taskUuid')
  @ApiOperation({ summary: 'A task with its steps, their states, results and errors' })
  @ApiOkResponse({ type: TaskView })
  @ApiErrors(404)
  get(@Param('taskUuid', uuidPipe) taskUuid: string): Promise<core.TaskView> {
    return this.tasks.get(taskUuid);
  }

  /** Every step transition of the task (no metadata), oldest first per step: its timeline. */
  @Get(':taskUuid/transitions')
  @ApiOperation({
    summary: "Every step transition of the task, without metadata: the dashboard's timeline",
  })
  @ApiOkResponse({ type: StepTransitionList })
  @ApiErrors(404)
  async transitions(
    @Param('taskUuid', uuidPipe) taskUuid: string,
  ): Promise<core.ItemList<core.StepTransitionView>> {
    return { items: await this.tasks.stepTransitions(taskUuid) };
  }

  @Delete(':taskUuid')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a task that has not ended, with its unfinished steps' })
  @ApiOkResponse({ type: CancelledTask })
  @ApiErrors(404, 409)
  async cancel(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Query() query: CancelTaskQuery,
  ): Promise<core.CancelledTask> {
    const { cancelledSteps } = await this.cancellation.cancel(taskUuid, query.reason);
    return { taskUuid, status: 'cancelled', cancelledSteps };
  }
}
