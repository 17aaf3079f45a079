import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EventNotFoundError } from '#core';
import { EventIntake } from '../services/event-intake.service.js';
import { ApiErrors } from './api-errors.js';
import { ListEventsQuery, PublishEventDto } from './dto/event.dto.js';
import { EventListView, PublishedEventView, ReceivedEventView } from './views/event.view.js';

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly intake: EventIntake) {}

  @Post()
  @ApiOperation({
    summary:
      'Receive an event: start a task of every template that lists it under triggers, in one transaction',
  })
  @ApiCreatedResponse({
    type: PublishedEventView,
    description:
      'Received, matched or not; with duplicate true when its idempotency key was seen before (the first reception, nothing new started)',
  })
  publish(@Body() body: PublishEventDto): Promise<PublishedEventView> {
    return this.intake.receive({
      name: body.name,
      payload: body.payload,
      idempotencyKey: body.idempotencyKey,
      correlationId: body.correlationId,
    });
  }

  @Get()
  @ApiOperation({ summary: 'Recent events, newest first, with the tasks they started' })
  @ApiOkResponse({ type: EventListView })
  async list(@Query() query: ListEventsQuery): Promise<EventListView> {
    const items = await this.intake.list({ limit: query.limit ?? 50, name: query.name });
    return { items };
  }

  @Get(':eventId')
  @ApiOperation({ summary: 'One event with the tasks it started' })
  @ApiOkResponse({ type: ReceivedEventView })
  @ApiErrors(404)
  get(
    @Param('eventId', new ParseUUIDPipe({ version: undefined })) eventId: string,
  ): Promise<ReceivedEventView> {
    return this.intake.find(eventId).then((event) => {
      if (!event) throw new EventNotFoundError(eventId);
      return event;
    });
  }
}
