import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import {
  DLQ_REASONS,
  DLQ_RESOLUTION_STATUSES,
  type DlqReason,
  type DlqResolutionStatus,
} from '#core';
import { PageQuery } from './page.query.js';

export class ListDlqQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DLQ_RESOLUTION_STATUSES })
  @IsOptional()
  @IsIn(DLQ_RESOLUTION_STATUSES)
  status?: DlqResolutionStatus;

  @ApiPropertyOptional({ enum: DLQ_REASONS })
  @IsOptional()
  @IsIn(DLQ_REASONS)
  reason?: DlqReason;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  namespace?: string;
}

export class ResolveDlqEntryDto {
  @ApiProperty({ enum: DLQ_RESOLUTION_STATUSES })
  @IsIn(DLQ_RESOLUTION_STATUSES)
  resolutionStatus!: DlqResolutionStatus;

  @ApiPropertyOptional({ example: 'reset the payment step after the provider outage' })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  resolutionNotes?: string;

  @ApiPropertyOptional({ example: 'jane@ops' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  resolvedBy?: string;
}
