import { ApiProperty } from '@nestjs/swagger';
import type * as core from '#core';
import { DLQ_REASONS, DLQ_RESOLUTION_STATUSES, TASK_STATES } from '#core';
import { countsBy, JSON_OBJECT } from './json-schema.js';

const uuid = { format: 'uuid' } as const;
const instant = { format: 'date-time' } as const;

export class DlqEntryView implements core.DlqEntryView {
  @ApiProperty(uuid) dlqEntryUuid!: string;
  @ApiProperty(uuid) taskUuid!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: DLQ_REASONS }) reason!: core.DlqReason;
  @ApiProperty({ enum: TASK_STATES }) originalState!: core.TaskState;
  @ApiProperty({ type: 'integer' }) stuckForSeconds!: number;
  @ApiProperty({ type: 'integer' }) thresholdMinutes!: number;
  @ApiProperty({ enum: TASK_STATES, description: "The task's current state" })
  taskStatus!: core.TaskState;
  @ApiProperty({ enum: DLQ_RESOLUTION_STATUSES }) resolutionStatus!: core.DlqResolutionStatus;
  @ApiProperty({ type: String, nullable: true }) resolutionNotes!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolvedBy!: string | null;
  @ApiProperty({ type: String, nullable: true, ...instant }) resolvedAt!: string | null;
  @ApiProperty(instant) createdAt!: string;
  @ApiProperty(instant) updatedAt!: string;
}

export class DlqEntryDetailView extends DlqEntryView implements core.DlqEntryDetailView {
  @ApiProperty({ ...JSON_OBJECT, description: 'The task and its steps when the entry was made' })
  snapshot!: Record<string, unknown>;
}

export class DlqPage implements core.DlqPage {
  @ApiProperty({ type: [DlqEntryView] }) items!: DlqEntryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class DlqStats implements core.DlqStats {
  @ApiProperty({ type: 'integer' }) total!: number;
  @ApiProperty(countsBy(DLQ_RESOLUTION_STATUSES))
  byStatus!: Partial<Record<core.DlqResolutionStatus, number>>;
  @ApiProperty(countsBy(DLQ_REASONS)) byReason!: Partial<Record<core.DlqReason, number>>;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Age of the oldest pending entry; null when none is pending',
  })
  oldestPendingSeconds!: number | null;
}
