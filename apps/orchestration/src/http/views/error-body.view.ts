import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Every error reply. Domain errors (DomainErrorFilter) carry a snake_case `error` code and
 * `details`; Nest's own (validation, API key, routing, body size) carry the status text as
 * `error`, and validation lists one message per problem.
 */
export class ErrorBodyView {
  @ApiProperty({ type: 'integer', example: 404 })
  statusCode!: number;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'task 0191c0de-0000-7000-8000-000000000000 does not exist',
    description: 'What went wrong; input validation lists each problem',
  })
  message!: string | string[];

  @ApiPropertyOptional({
    example: 'task_not_found',
    description:
      'A domain error code (task_not_found, duplicate_task, illegal_transition, conflict, validation_failed, …) or the status text',
  })
  error?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Domain errors only: the values the message names',
  })
  details?: Record<string, unknown>;
}
