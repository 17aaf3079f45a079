import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import type { TaskState } from '#core';
import { TASK_STATES } from '#core';
import { PageQuery } from './page.query.js';

export class ListTasksQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  namespace?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ enum: TASK_STATES })
  @IsOptional()
  @IsIn(TASK_STATES)
  status?: TaskState;

  @ApiPropertyOptional({ description: 'Only the tasks with this correlation id' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  correlationId?: string;

  @ApiPropertyOptional({ description: 'Only tasks submitted at or after this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  requestedFrom?: string;

  @ApiPropertyOptional({ description: 'Only tasks submitted before this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  requestedBefore?: string;
}
