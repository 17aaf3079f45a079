import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
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
import { TEMPLATE_NAME_MAX_LENGTH, TEMPLATE_NAME_PATTERN, TEMPLATE_VERSION_PATTERN } from '#core';

export class CreateTaskDto {
  @ApiProperty({ example: 'examples' })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'namespace must be snake_case (a-z, 0-9, _)' })
  @MaxLength(TEMPLATE_NAME_MAX_LENGTH)
  namespace!: string;

  @ApiProperty({ example: 'diamond' })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'name must be snake_case (a-z, 0-9, _)' })
  @MaxLength(TEMPLATE_NAME_MAX_LENGTH)
  name!: string;

  @ApiPropertyOptional({
    example: '1.0.0',
    description: 'Defaults to the highest registered version',
  })
  @IsOptional()
  @IsString()
  @Matches(TEMPLATE_VERSION_PATTERN, { message: 'version must look like 1.2.3' })
  version?: string;

  @ApiProperty({ example: { n: 3 }, description: "Validated against the template's input_schema" })
  @IsObject({ message: 'context must be a JSON object' })
  context!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Same key, same task: a second submission answers 409' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  idempotencyKey?: string;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsInt()
  @Min(-1000)
  @Max(1000)
  priority?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  correlationId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  initiator?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  sourceSystem?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];
}
