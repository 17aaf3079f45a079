import { Body, Controller, Get, Param, ParseUUIDPipe, Patch } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { StepDetailView } from '#core';
import { TaskQueryRepository } from '#persistence';
import { StepOperationsService } from '../services/step-operations.service.js';
import { StepActionDto } from './dto/step-action.dto.js';

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
  get(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Param('stepUuid', uuidPipe) stepUuid: string,
  ): Promise<StepDetailView> {
    return this.tasks.step(taskUuid, stepUuid);
  }

  /** reset_for_retry | resolve_manually | complete_manually; 409 when it does not apply. */
  @Patch()
  apply(
    @Param('taskUuid', uuidPipe) taskUuid: string,
    @Param('stepUuid', uuidPipe) stepUuid: string,
    @Body() body: StepActionDto,
  ): Promise<StepDetailView> {
    return this.operations.apply(taskUuid, stepUuid, body);
  }
}
