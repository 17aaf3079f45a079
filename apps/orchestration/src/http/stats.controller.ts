import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as core from '#core';
import { QueueDepths } from '#messaging';
import { StatsRepository } from '#persistence';
import { FinishesQuery, UpcomingFiresQuery } from './dto/stats.query.js';
import { FinishesList, QueueDepthList, TaskCounts, UpcomingFireList } from './views/stats.view.js';

/**
 * Aggregates for an overview (the dashboard's): each is one indexed read whose cost does not
 * grow with the number of tasks kept, or, for queue depths, the shared reading that /metrics
 * and backpressure use (at most one per 5 s per process).
 */
@ApiTags('stats')
@Controller('v1/stats')
export class StatsController {
  constructor(
    private readonly stats: StatsRepository,
    private readonly depths: QueueDepths,
  ) {}

  @Get('tasks')
  @ApiOperation({ summary: 'Tasks by current status, each count capped (cap in the reply)' })
  @ApiOkResponse({ type: TaskCounts })
  tasks(): Promise<core.TaskCounts> {
    return this.stats.taskCounts();
  }

  @Get('finishes')
  @ApiOperation({ summary: 'Tasks that completed or failed in each minute of the window' })
  @ApiOkResponse({ type: FinishesList })
  async finishes(@Query() query: FinishesQuery): Promise<core.ItemList<core.MinuteOfFinishes>> {
    return { items: await this.stats.finishesPerMinute(query.minutes ?? 60) };
  }

  @Get('queues')
  @ApiOperation({ summary: 'Messages waiting in each worker queue and the step results queue' })
  @ApiOkResponse({ type: QueueDepthList })
  async queues(): Promise<core.ItemList<core.QueueDepth>> {
    const depths = await this.depths.read();
    return { items: [...depths].map(([queue, depth]) => ({ queue, depth })) };
  }

  @Get('upcoming-fires')
  @ApiOperation({ summary: 'The enabled schedules that fire next, soonest first' })
  @ApiOkResponse({ type: UpcomingFireList })
  async upcomingFires(
    @Query() query: UpcomingFiresQuery,
  ): Promise<core.ItemList<core.UpcomingFire>> {
    return { items: await this.stats.upcomingFires(query.limit ?? 10) };
  }
}
