import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TEMPLATE_NAME_MAX_LENGTH, TEMPLATE_NAME_PATTERN, TEMPLATE_VERSION_PATTERN } from '#core';
import { JSON_OBJECT } from '../views/json-schema.js';

/** Which template to run and with what context: tasks and schedules name it the same way. */
export class TemplateRefDto {
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
    description: 'Omit for the highest registered version (for a schedule: at each fire)',
  })
  @IsOptional()
  @IsString()
  @Matches(TEMPLATE_VERSION_PATTERN, { message: 'version must look like 1.2.3' })
  version?: string;

  @ApiProperty({
    ...JSON_OBJECT,
    example: { n: 3 },
    description: "Validated against the template's input_schema",
  })
  @IsObject({ message: 'context must be a JSON object' })
  context!: Record<string, unknown>;
}
