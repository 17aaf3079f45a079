import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EVENT_NAME_PATTERN } from '#core';
import { JSON_OBJECT } from '../views/json-schema.js';

const EVENT_NAME_MESSAGE =
  'name must look like namespace.action (lower case, digits, _ and at least one dot)';

export class PublishEventDto {
  @ApiProperty({ example: 'order.placed', pattern: EVENT_NAME_PATTERN.source })
  @IsString()
  @Matches(EVENT_NAME_PATTERN, { message: EVENT_NAME_MESSAGE })
  @MaxLength(200)
  name!: string;

  @ApiProperty({
    ...JSON_OBJECT,
    example: { orderId: 'o-1' },
    description: "Each triggered task's context, checked against its template's input_schema",
  })
  @IsObject({ message: 'payload must be a JSON object' })
  payload!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Same key, same event: it starts its tasks once' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  idempotencyKey?: string;

  @ApiPropertyOptional({ description: "The tasks' correlation id" })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  correlationId?: string;
}

export class ListEventsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'Only events of this name' })
  @IsOptional()
  @IsString()
  @Matches(EVENT_NAME_PATTERN, { message: EVENT_NAME_MESSAGE })
  name?: string;
}
