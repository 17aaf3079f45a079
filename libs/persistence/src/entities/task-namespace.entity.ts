import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'tasker', name: 'task_namespaces' })
export class TaskNamespaceEntity {
  @PrimaryColumn({ name: 'task_namespace_uuid', type: 'uuid' })
  uuid!: string;

  @Column({ type: 'text' })
  name!: string;
}
