import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'tasker', name: 'tasks' })
export class TaskEntity {
  @PrimaryColumn({ name: 'task_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ name: 'named_task_uuid', type: 'uuid' })
  namedTaskUuid!: string;

  @Column({ type: 'jsonb' })
  context!: Record<string, unknown>;

  @Column({ type: 'integer' })
  priority!: number;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId!: string;

  @Column({ type: 'text', nullable: true })
  initiator!: string | null;

  @Column({ name: 'source_system', type: 'text', nullable: true })
  sourceSystem!: string | null;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'text', array: true })
  tags!: string[];

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'schedule_uuid', type: 'uuid', nullable: true })
  scheduleUuid!: string | null;

  @Column({ name: 'scheduled_fire_at', type: 'timestamptz', nullable: true })
  scheduledFireAt!: Date | null;
}
