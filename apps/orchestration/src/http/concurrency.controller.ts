import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as core from '#core';
import { TaskerMetrics } from '#observability';
import { concurrencyKeys, Database, limitTotals } from '#persistence';
import { ConcurrencyQuery } from './dto/concurrency.query.js';
import { ConcurrencyKeyList } from './views/concurrency.view.js';

/**
 * The keys of the concurrency and rate limits that have steps running or waiting, and the
 * limits' gauges in /metrics; both read on the monitoring connection, never the hot path's.
 */
@ApiTags('concurrency')
@Controller('v1/concurrency')
export class ConcurrencyController {
  constructor(
    private readonly database: Database,
    metrics: TaskerMetrics,
  ) {
    metrics.trackLimits(() => limitTotals(this.database.monitoring));
  }

  @Get()
  @ApiOperation({
    summary:
      'Keys of the concurrency and rate limits with slots held or steps waiting, busiest first',
  })
  @ApiOkResponse({ type: ConcurrencyKeyList })
  async list(@Query() query: ConcurrencyQuery): Promise<core.ItemList<core.ConcurrencyKey>> {
    return {
      items: await concurrencyKeys(this.database.monitoring, {
        limit: query.limit,
        max: query.max ?? 100,
      }),
    };
  }
}
