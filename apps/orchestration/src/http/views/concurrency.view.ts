import { ApiProperty } from '@nestjs/swagger';
import type * as core from '#core';
import { CONCURRENCY_STRATEGIES } from '#core';

const instant = { format: 'date-time', nullable: true, type: 'string' } as const;
const count = { type: 'integer', nullable: true } as const;

export class ConcurrencyKey implements core.ConcurrencyKey {
  @ApiProperty({ description: 'The limit (shared by every template that declares its name)' })
  limit!: string;
  @ApiProperty({
    enum: ['task', 'step'],
    description: "task: held by a task until it ends; step: by a step's run until it is decided",
  })
  level!: 'task' | 'step';
  @ApiProperty({ description: "The key: the value at the limit's path in the task context" })
  key!: string;
  @ApiProperty(count) maxRunning!: number | null;
  @ApiProperty({ ...count, description: 'Step starts allowed per ratePeriodMs' })
  rateLimit!: number | null;
  @ApiProperty(count) ratePeriodMs!: number | null;
  @ApiProperty({ enum: CONCURRENCY_STRATEGIES }) strategy!: string;
  @ApiProperty({ type: 'integer', description: 'Slots held now' }) running!: number;
  @ApiProperty({ type: 'integer', description: 'Ready steps waiting for a slot or the rate' })
  waiting!: number;
  @ApiProperty({ ...instant, description: 'When the longest wait began' })
  oldestWaitingSince!: string | null;
  @ApiProperty({ ...instant, description: 'When the rate lets the next waiting step start' })
  nextStartAt!: string | null;
}

export class ConcurrencyKeyList implements core.ItemList<core.ConcurrencyKey> {
  @ApiProperty({ type: [ConcurrencyKey] }) items!: ConcurrencyKey[];
}
