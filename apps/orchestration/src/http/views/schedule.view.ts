import { ApiProperty } from '@nestjs/swagger';
import type * as core from '#core';
import { SCHEDULE_KINDS, SCHEDULE_OVERLAP_POLICIES, TASK_STATES } from '#core';
import { JSON_OBJECT } from './json-schema.js';

const uuid = { format: 'uuid' } as const;
const instant = { format: 'date-time' } as const;
const nullableInstant = { type: String, nullable: true, ...instant } as const;

export class ScheduleView implements core.ScheduleView {
  @ApiProperty(uuid) scheduleUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'null: the highest registered version at each fire',
  })
  version!: string | null;
  @ApiProperty(JSON_OBJECT) context!: Record<string, unknown>;
  @ApiProperty({ enum: SCHEDULE_KINDS }) kind!: core.ScheduleKind;
  @ApiProperty() expression!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) timezone!: string;
  @ApiProperty({ type: 'integer' }) misfireGraceSeconds!: number;
  @ApiProperty({ enum: SCHEDULE_OVERLAP_POLICIES }) overlap!: core.ScheduleOverlap;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty(nullableInstant) nextFireAt!: string | null;
  @ApiProperty(nullableInstant) snoozedUntil!: string | null;
  @ApiProperty(nullableInstant) lastFireAt!: string | null;
  @ApiProperty({ type: String, nullable: true, ...uuid }) lastTaskUuid!: string | null;
  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'date-time' },
    description: 'The next five fires; empty while paused',
  })
  upcomingFires!: string[];
  @ApiProperty(instant) createdAt!: string;
  @ApiProperty(instant) updatedAt!: string;
}

export class SchedulePage implements core.SchedulePage {
  @ApiProperty({ type: [ScheduleView] }) items!: ScheduleView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

const RUN_OUTCOMES: core.ScheduleRunOutcome[] = [
  'created',
  'misfired',
  'coalesced',
  'skipped_overlap',
  'failed',
];

export class ScheduleRunView implements core.ScheduleRunView {
  @ApiProperty(uuid) scheduleRunUuid!: string;
  @ApiProperty(instant) fireAt!: string;
  @ApiProperty({ enum: ['schedule', 'manual'] }) trigger!: 'schedule' | 'manual';
  @ApiProperty({ enum: RUN_OUTCOMES }) outcome!: core.ScheduleRunOutcome;
  @ApiProperty({ type: String, nullable: true, ...uuid }) taskUuid!: string | null;
  @ApiProperty({ enum: TASK_STATES, nullable: true }) taskStatus!: core.TaskState | null;
  @ApiProperty({ type: String, nullable: true }) detail!: string | null;
  @ApiProperty(instant) createdAt!: string;
}

export class ScheduleRunPage implements core.ScheduleRunPage {
  @ApiProperty({ type: [ScheduleRunView] }) items!: ScheduleRunView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ScheduleRunNow {
  @ApiProperty(uuid) scheduleUuid!: string;
  @ApiProperty(uuid) taskUuid!: string;
}
