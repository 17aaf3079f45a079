import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
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
}
