import { ApiProperty } from '@nestjs/swagger';
import type * as core from '#core';
import { TASK_STATES } from '#core';
import { countsBy } from './json-schema.js';

const instant = { format: 'date-time' } as const;

export class TaskCounts implements core.TaskCounts {
  @ApiProperty({ ...countsBy(TASK_STATES, true), description: 'Each count at most cap' })
  byStatus!: Record<core.TaskState, number>;
  @ApiProperty({ type: 'integer', example: 10000 }) cap!: number;
}

export class MinuteOfFinishes implements core.MinuteOfFinishes {
  @ApiProperty({ ...instant, description: 'Start of the minute (UTC)' }) minute!: string;
  @ApiProperty({ type: 'integer' }) complete!: number;
  @ApiProperty({ type: 'integer' }) error!: number;
}

export class FinishesList implements core.ItemList<core.MinuteOfFinishes> {
  @ApiProperty({ type: [MinuteOfFinishes] }) items!: MinuteOfFinishes[];
}

export class QueueDepth implements core.QueueDepth {
  @ApiProperty() queue!: string;
  @ApiProperty({ type: 'integer' }) depth!: number;
}

export class QueueDepthList implements core.ItemList<core.QueueDepth> {
  @ApiProperty({ type: [QueueDepth] }) items!: QueueDepth[];
}

export class UpcomingFire implements core.UpcomingFire {
  @ApiProperty({ format: 'uuid' }) scheduleUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty(instant) nextFireAt!: string;
}

export class UpcomingFireList implements core.ItemList<core.UpcomingFire> {
  @ApiProperty({ type: [UpcomingFire] }) items!: UpcomingFire[];
}
