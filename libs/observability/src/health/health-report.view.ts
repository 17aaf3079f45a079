import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';

const components = (description: string): ApiPropertyOptions => ({
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    required: ['status'],
    additionalProperties: true,
  },
  description: `${description}: by component (database, broker, events, migrations), its status and details`,
});

/**
 * What a probe answers (terminus's report), described here rather than by terminus: its own
 * description depends on loading @nestjs/swagger with require, which not every runtime allows,
 * and the document must be the same wherever it is built.
 */
export class HealthReport {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status!: 'ok' | 'error' | 'shutting_down';

  @ApiPropertyOptional(components('The components that are up'))
  info?: Record<string, { status: string }>;

  @ApiPropertyOptional(components('The components that are down'))
  error?: Record<string, { status: string }>;

  @ApiProperty(components('Every component checked'))
  details!: Record<string, { status: string }>;
}
