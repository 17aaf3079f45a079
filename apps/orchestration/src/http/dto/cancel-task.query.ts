import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class CancelTaskQuery {
  @ApiPropertyOptional({ description: 'Recorded on the cancellation transition' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}
