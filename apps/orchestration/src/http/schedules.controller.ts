import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type * as core from '#core';
import { ScheduleRepository } from '#persistence';
import { ScheduleService } from '../services/schedule.service.js';
import {
  CreateScheduleDto,
  ListSchedulesQuery,
  SnoozeScheduleDto,
  UpdateScheduleDto,
} from './dto/schedule.dto.js';
import { PageQuery } from './dto/page.query.js';
import { ApiErrors } from './api-errors.js';
import {
  ScheduleRunNow,
  ScheduleRunPage,
  SchedulePage,
  ScheduleView,
} from './views/schedule.view.js';

const uuidPipe = new ParseUUIDPipe({ version: undefined });

@ApiTags('schedules')
@Controller('v1/schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: ScheduleService,
    private readonly repository: ScheduleRepository,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a schedule: a template run on a cron, RRULE or one-off time' })
  @ApiCreatedResponse({ type: ScheduleView })
  create(@Body() body: CreateScheduleDto): Promise<core.ScheduleView> {
    return this.schedules.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List schedules with their next fires, paged by cursor' })
  @ApiOkResponse({ type: SchedulePage })
  list(@Query() query: ListSchedulesQuery): Promise<core.SchedulePage> {
    return this.schedules.list({
      namespace: query.namespace,
      name: query.name,
      enabled: query.enabled,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
  }

  @Get(':scheduleUuid')
  @ApiOperation({ summary: 'A schedule with its next five fires' })
  @ApiOkResponse({ type: ScheduleView })
  @ApiErrors(404)
  get(@Param('scheduleUuid', uuidPipe) scheduleUuid: string): Promise<core.ScheduleView> {
    return this.schedules.get(scheduleUuid);
  }

  @Patch(':scheduleUuid')
  @ApiOperation({
    summary: 'Change any field of a schedule; enabled false pauses, true resumes from now',
  })
  @ApiOkResponse({ type: ScheduleView })
  @ApiErrors(404)
  update(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Body() body: UpdateScheduleDto,
  ): Promise<core.ScheduleView> {
    return this.schedules.update(scheduleUuid, body);
  }

  @Delete(':scheduleUuid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a schedule (the tasks it created stay)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(404)
  delete(@Param('scheduleUuid', uuidPipe) scheduleUuid: string): Promise<void> {
    return this.schedules.delete(scheduleUuid);
  }

  @Post(':scheduleUuid/run-now')
  @ApiOperation({
    summary: 'Create a task of the schedule now, whatever its timing, pause or overlap policy',
  })
  @ApiCreatedResponse({ type: ScheduleRunNow })
  @ApiErrors(404)
  runNow(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
  ): Promise<{ scheduleUuid: string; taskUuid: string }> {
    return this.schedules.runNow(scheduleUuid);
  }

  @Post(':scheduleUuid/snooze')
  @HttpCode(200)
  @ApiOperation({ summary: 'Skip the next fire, or every fire up to an instant' })
  @ApiOkResponse({ type: ScheduleView })
  @ApiErrors(404, 409)
  snooze(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Body() body: SnoozeScheduleDto,
  ): Promise<core.ScheduleView> {
    return this.schedules.snooze(scheduleUuid, body.until ? new Date(body.until) : undefined);
  }

  @Get(':scheduleUuid/runs')
  @ApiOperation({ summary: 'Every fire of the schedule handled, newest first, paged by cursor' })
  @ApiOkResponse({ type: ScheduleRunPage })
  @ApiErrors(404)
  runs(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Query() query: PageQuery,
  ): Promise<core.ScheduleRunPage> {
    return this.repository.runs(scheduleUuid, query.limit ?? 50, query.cursor);
  }
}
