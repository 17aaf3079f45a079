import { NamedTaskEntity } from './named-task.entity.js';
import { TaskNamespaceEntity } from './task-namespace.entity.js';
import { TaskEntity } from './task.entity.js';
import { TaskTransitionEntity, WorkflowStepTransitionEntity } from './transition.entity.js';
import { WorkflowStepEntity } from './workflow-step.entity.js';

export {
  NamedTaskEntity,
  TaskNamespaceEntity,
  TaskEntity,
  TaskTransitionEntity,
  WorkflowStepEntity,
  WorkflowStepTransitionEntity,
};

export const ENTITIES = [
  TaskNamespaceEntity,
  NamedTaskEntity,
  TaskEntity,
  WorkflowStepEntity,
  TaskTransitionEntity,
  WorkflowStepTransitionEntity,
];
