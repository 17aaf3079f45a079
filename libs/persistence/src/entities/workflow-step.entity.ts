import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { StepKind } from '#core';

@Entity({ schema: 'tasker', name: 'workflow_steps' })
export class WorkflowStepEntity {
  @PrimaryColumn({ name: 'workflow_step_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ name: 'task_uuid', type: 'uuid' })
  taskUuid!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  handler!: string;

  @Column({ type: 'text' })
  kind!: StepKind;

  @Column({ type: 'boolean' })
  retryable!: boolean;

  @Column({ name: 'max_attempts', type: 'integer' })
  maxAttempts!: number;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ name: 'last_attempted_at', type: 'timestamptz', nullable: true })
  lastAttemptedAt!: Date | null;

  @Column({ name: 'next_retry_at', type: 'timestamptz', nullable: true })
  nextRetryAt!: Date | null;

  @Column({ type: 'jsonb', nullable: true })
  results!: unknown;

  @Column({ name: 'last_error', type: 'jsonb', nullable: true })
  lastError!: Record<string, unknown> | null;
}
