import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  SCHEDULE_KINDS,
  SCHEDULE_OVERLAP_POLICIES,
  type ScheduleKind,
  type ScheduleOverlap,
} from '#core';
import { PageQuery } from './page.query.js';
import { TemplateRefDto } from './template-ref.dto.js';

/** A week: a fire later than that after its time is not "a little late" any more. */
const MAX_MISFIRE_GRACE_SECONDS = 7 * 24 * 3600;

export class CreateScheduleDto extends TemplateRefDto {
  @ApiProperty({ enum: SCHEDULE_KINDS })
  @IsIn(SCHEDULE_KINDS)
  kind!: ScheduleKind;

  @ApiProperty({
    example: '30 2 * * *',
    description:
      'cron: 5 fields or a macro (@daily); rrule: RFC 5545 with DTSTART; once: ISO 8601 instant',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  expression!: string;

  @ApiProperty({ example: 'Europe/Berlin', description: 'IANA time zone of the expression' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  timezone!: string;

  @ApiPropertyOptional({
    default: 300,
    description: 'A fire found this late (seconds) still runs; later, it is a recorded misfire',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_MISFIRE_GRACE_SECONDS)
  misfireGraceSeconds?: number;

  @ApiPropertyOptional({ enum: SCHEDULE_OVERLAP_POLICIES, default: 'allow' })
  @IsOptional()
  @IsIn(SCHEDULE_OVERLAP_POLICIES)
  overlap?: ScheduleOverlap;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;
}

/** Any subset of the fields; `enabled` false pauses, true resumes from now. */
export class UpdateScheduleDto extends PartialType(CreateScheduleDto) {}

export class SnoozeScheduleDto {
  @ApiPropertyOptional({
    description: 'Skip every fire up to this instant; omit to skip only the next fire',
    example: '2026-12-24T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 instant' })
  until?: string;
}

export class ListSchedulesQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  namespace?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;
}
