import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  DLQ_REASONS,
  DLQ_RESOLUTION_STATUSES,
  type DlqReason,
  type DlqResolutionStatus,
} from '#core';

export class ListDlqQuery {
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

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsUUID()
  cursor?: string;
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
