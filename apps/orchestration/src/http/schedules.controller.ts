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
import { ApiTags } from '@nestjs/swagger';
import type { ScheduleRunPage, SchedulePage, ScheduleView } from '#core';
import { ScheduleRepository } from '#persistence';
import { ScheduleService } from '../services/schedule.service.js';
import {
  CreateScheduleDto,
  ListSchedulesQuery,
  SnoozeScheduleDto,
  UpdateScheduleDto,
} from './dto/schedule.dto.js';
import { PageQuery } from './dto/page.query.js';

const uuidPipe = new ParseUUIDPipe({ version: undefined });

@ApiTags('schedules')
@Controller('v1/schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: ScheduleService,
    private readonly repository: ScheduleRepository,
  ) {}

  @Post()
  create(@Body() body: CreateScheduleDto): Promise<ScheduleView> {
    return this.schedules.create(body);
  }

  @Get()
  list(@Query() query: ListSchedulesQuery): Promise<SchedulePage> {
    return this.schedules.list({
      namespace: query.namespace,
      name: query.name,
      enabled: query.enabled,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
  }

  @Get(':scheduleUuid')
  get(@Param('scheduleUuid', uuidPipe) scheduleUuid: string): Promise<ScheduleView> {
    return this.schedules.get(scheduleUuid);
  }

  @Patch(':scheduleUuid')
  update(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Body() body: UpdateScheduleDto,
  ): Promise<ScheduleView> {
    return this.schedules.update(scheduleUuid, body);
  }

  @Delete(':scheduleUuid')
  @HttpCode(204)
  delete(@Param('scheduleUuid', uuidPipe) scheduleUuid: string): Promise<void> {
    return this.schedules.delete(scheduleUuid);
  }

  @Post(':scheduleUuid/run-now')
  runNow(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
  ): Promise<{ scheduleUuid: string; taskUuid: string }> {
    return this.schedules.runNow(scheduleUuid);
  }

  @Post(':scheduleUuid/snooze')
  @HttpCode(200)
  snooze(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Body() body: SnoozeScheduleDto,
  ): Promise<ScheduleView> {
    return this.schedules.snooze(scheduleUuid, body.until ? new Date(body.until) : undefined);
  }

  @Get(':scheduleUuid/runs')
  runs(
    @Param('scheduleUuid', uuidPipe) scheduleUuid: string,
    @Query() query: PageQuery,
  ): Promise<ScheduleRunPage> {
    return this.repository.runs(scheduleUuid, query.limit ?? 50, query.cursor);
  }
}
