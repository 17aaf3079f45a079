import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as core from '#core';
import { DlqRepository } from '#persistence';
import { ApiErrors } from './api-errors.js';
import { ListDlqQuery, ResolveDlqEntryDto } from './dto/dlq.dto.js';
import { DlqEntryDetailView, DlqPage, DlqStats } from './views/dlq.view.js';

const uuidPipe = new ParseUUIDPipe({ version: undefined });

/**
 * Tasks staleness detection gave up on. Resolving an entry records the operator's decision;
 * the task itself is moved with the step actions (PATCH /v1/tasks/:task/steps/:step).
 */
@ApiTags('dlq')
@Controller('v1/dlq')
export class DlqController {
  constructor(private readonly dlq: DlqRepository) {}

  @Get()
  @ApiOperation({ summary: 'DLQ entries (tasks found stuck), newest first, with their task state' })
  @ApiOkResponse({ type: DlqPage })
  list(@Query() query: ListDlqQuery): Promise<core.DlqPage> {
    return this.dlq.list({
      status: query.status,
      reason: query.reason,
      namespace: query.namespace,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
  }

  /** Declared before :entryUuid so "stats" is not taken for an id. */
  @Get('stats')
  @ApiOperation({ summary: 'DLQ entries by status and reason, and the oldest pending one' })
  @ApiOkResponse({ type: DlqStats })
  stats(): Promise<core.DlqStats> {
    return this.dlq.stats();
  }

  @Get(':entryUuid')
  @ApiOperation({ summary: 'One DLQ entry with the snapshot of its task' })
  @ApiOkResponse({ type: DlqEntryDetailView })
  @ApiErrors(404)
  get(@Param('entryUuid', uuidPipe) entryUuid: string): Promise<core.DlqEntryDetailView> {
    return this.dlq.get(entryUuid);
  }

  @Patch(':entryUuid')
  @ApiOperation({ summary: "Record an operator's decision on a DLQ entry" })
  @ApiOkResponse({ type: DlqEntryDetailView })
  @ApiErrors(404)
  resolve(
    @Param('entryUuid', uuidPipe) entryUuid: string,
    @Body() body: ResolveDlqEntryDto,
  ): Promise<core.DlqEntryDetailView> {
    return this.dlq.resolve(entryUuid, body);
  }
}
