import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { DlqEntryDetailView, DlqPage, DlqStats } from '#core';
import { DlqRepository } from '#persistence';
import { ListDlqQuery, ResolveDlqEntryDto } from './dto/dlq.dto.js';

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
  list(@Query() query: ListDlqQuery): Promise<DlqPage> {
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
  stats(): Promise<DlqStats> {
    return this.dlq.stats();
  }

  @Get(':entryUuid')
  get(@Param('entryUuid', uuidPipe) entryUuid: string): Promise<DlqEntryDetailView> {
    return this.dlq.get(entryUuid);
  }

  @Patch(':entryUuid')
  resolve(
    @Param('entryUuid', uuidPipe) entryUuid: string,
    @Body() body: ResolveDlqEntryDto,
  ): Promise<DlqEntryDetailView> {
    return this.dlq.resolve(entryUuid, body);
  }
}
