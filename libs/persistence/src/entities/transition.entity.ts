import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Read-only views of the append-only transition logs; writes go through sql/transition-*.ts. */
@Entity({ schema: 'tasker', name: 'task_transitions' })
export class TaskTransitionEntity {
  @PrimaryColumn({ name: 'task_transition_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ name: 'task_uuid', type: 'uuid' })
  taskUuid!: string;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState!: string | null;

  @Column({ name: 'to_state', type: 'text' })
  toState!: string;

  @Column({ name: 'most_recent', type: 'boolean' })
  mostRecent!: boolean;

  @Column({ name: 'sort_key', type: 'integer' })
  sortKey!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ schema: 'tasker', name: 'workflow_step_transitions' })
export class WorkflowStepTransitionEntity {
  @PrimaryColumn({ name: 'workflow_step_transition_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ name: 'workflow_step_uuid', type: 'uuid' })
  stepUuid!: string;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState!: string | null;

  @Column({ name: 'to_state', type: 'text' })
  toState!: string;

  @Column({ name: 'most_recent', type: 'boolean' })
  mostRecent!: boolean;

  @Column({ name: 'sort_key', type: 'integer' })
  sortKey!: number;

  @Column({ type: 'jsonb' })
  metadata!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
