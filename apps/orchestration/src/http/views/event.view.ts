import { ApiProperty } from '@nestjs/swagger';
import type * as core from '#core';
import { JSON_OBJECT } from './json-schema.js';

const uuid = { format: 'uuid' } as const;

export class EventTaskView implements core.EventTaskView {
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
}

export class ReceivedEventView implements core.ReceivedEventView {
  @ApiProperty(uuid) eventId!: string;
  @ApiProperty() name!: string;
  @ApiProperty(JSON_OBJECT) payload!: unknown;
  @ApiProperty({ type: String, nullable: true }) idempotencyKey!: string | null;
  @ApiProperty({ type: String, nullable: true }) correlationId!: string | null;
  @ApiProperty({
    enum: ['api', 'domain_event'],
    description: 'POST /v1/events, or a durable domain event a step published',
  })
  source!: 'api' | 'domain_event';
  @ApiProperty({
    type: 'integer',
    description: 'Events that led to this one: 0 from the API, +1 per task an event started',
  })
  depth!: number;
  @ApiProperty({
    enum: ['matched', 'unmatched', 'depth_exceeded', 'refused'],
    description:
      'matched: it started tasks; unmatched: no template triggers on it; depth_exceeded: past TASKER_EVENT_MAX_DEPTH; refused: a domain event a template input_schema refused',
  })
  outcome!: core.ReceivedEventOutcome;
  @ApiProperty({ type: String, nullable: true, ...uuid }) sourceTaskUuid!: string | null;
  @ApiProperty({ format: 'date-time' }) receivedAt!: string;
  @ApiProperty({ type: [EventTaskView], description: 'The tasks it started' })
  tasks!: EventTaskView[];
}

export class PublishedEventView extends ReceivedEventView implements core.PublishedEventView {
  @ApiProperty({ description: 'The idempotency key was seen before: nothing new was started' })
  duplicate!: boolean;
}

export class EventListView {
  @ApiProperty({ type: [ReceivedEventView] }) items!: ReceivedEventView[];
}
