import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'tasker', name: 'named_tasks' })
export class NamedTaskEntity {
  @PrimaryColumn({ name: 'named_task_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ name: 'task_namespace_uuid', type: 'uuid' })
  namespaceUuid!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  version!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ name: 'identity_strategy', type: 'text' })
  identityStrategy!: string;

  @Column({ type: 'jsonb' })
  configuration!: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  source!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
