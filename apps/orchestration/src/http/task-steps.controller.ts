import { Body, Controller, Get, Param, ParseUUIDPipe, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as core from '#core';
import { TaskQueryRepository } from '#persistence';
import { StepOperationsService } from '../services/step-operations.service.js';
import { ApiErrors } from './api-errors.js';
import { StepActionDto } from './dto/step-action.dto.js';
import { StepDetailView } from './views/task.view.js';

const uuidPipe = new ParseUUIDPipe({ version: undefined });

@ApiTags('tasks')
@Controller('v1/tasks/:taskUuid/steps/:stepUuid')
export class TaskStepsController {
  constructor(
    private readonly tasks: TaskQueryRepository,
    private readonly operations: StepOperationsService,
  ) {}

  /** The step with its full transition history (who changed what, when and why). */
  @Get()
  @ApiOperation({ summary: 'A step with its whole history: each state, who moved it and why' })
  @ApiOkResponse({ type: StepDetailView })
  @ApiErrors(404)
  get(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Param('stepUuid', uuidPipe) stepUuid: string,
  ): Promise<core.StepDetailView> {
    return this.tasks.step(taskUuid, stepUuid);
  }

  /** reset_for_retry | resolve_manually | complete_manually; 409 when it does not apply. */
  @Patch()
  @ApiOperation({
    summary: 'Act on a step as an operator: reset_for_retry, resolve_manually or complete_manually',
  })
  @ApiOkResponse({ type: StepDetailView, description: 'The step after the action' })
  @ApiErrors(404, 409)
  apply(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Param('stepUuid', uuidPipe) stepUuid: string,
    @Body() body: StepActionDto,
  ): Promise<core.StepDetailView> {
    return this.operations.apply(taskUuid, stepUuid, body);
  }
}
