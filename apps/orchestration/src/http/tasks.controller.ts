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
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { TaskPage, TaskView } from '#core';
import { type StepTransitionRow, TaskQueryRepository } from '#persistence';
import { TaskCancellationService } from '../services/task-cancellation.service.js';
import { type SubmittedTask, TaskSubmissionService } from '../services/task-submission.service.js';
import { Backpressure, RETRY_AFTER_SECONDS } from './backpressure.service.js';
import { CancelTaskQuery } from './dto/cancel-task.query.js';
import { CreateTaskDto } from './dto/create-task.dto.js';
import { ListTasksQuery } from './dto/list-tasks.query.js';

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
  async create(
    @Body() body: CreateTaskDto,
    @Headers('traceparent') traceparent: string | undefined,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): void },
  ): Promise<SubmittedTask> {
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
  list(@Query() query: ListTasksQuery): Promise<TaskPage> {
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
  get(@Param('taskUuid', uuidPipe) taskUuid: string): Promise<TaskView> {
    return this.tasks.get(taskUuid);
  }

  /** Every step transition of the task (no metadata), oldest first per step: its timeline. */
  @Get(':taskUuid/transitions')
  @ApiOperation({
    summary: "Every step transition of the task, without metadata: the dashboard's timeline",
  })
  async transitions(
    @Param('taskUuid', uuidPipe) taskUuid: string,
  ): Promise<{ items: StepTransitionRow[] }> {
    return { items: await this.tasks.stepTransitions(taskUuid) };
  }

  @Delete(':taskUuid')
  @HttpCode(200)
  async cancel(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Query() query: CancelTaskQuery,
  ): Promise<{ taskUuid: string; status: 'cancelled'; cancelledSteps: number }> {
    const { cancelledSteps } = await this.cancellation.cancel(taskUuid, query.reason);
    return { taskUuid, status: 'cancelled', cancelledSteps };
  }
}
