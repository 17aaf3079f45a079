import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { STEP_ACTIONS, type StepAction } from '#core';
import { ANY_JSON } from '../views/json-schema.js';

export class StepActionDto {
  @ApiProperty({ enum: STEP_ACTIONS })
  @IsIn(STEP_ACTIONS)
  action!: StepAction;

  @ApiProperty({ example: 'jane@ops', description: 'Who acts; recorded in the step history' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  operator!: string;

  @ApiProperty({ example: 'upstream API fixed, re-running' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  reason!: string;

  @ApiPropertyOptional({
    ...ANY_JSON,
    description: 'complete_manually only: the step result downstream steps receive',
    example: { value: 42 },
  })
  // Any JSON; whether it belongs with the action is checked by StepOperationsService.
  @IsOptional()
  result?: unknown;
}
