import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ConcurrencyQuery {
  @ApiPropertyOptional({ description: 'Only the keys of this limit' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  limit?: string;

  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000, description: 'Most keys listed' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  max?: number;
}
