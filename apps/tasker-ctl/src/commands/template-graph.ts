import type { DagNode } from '#core';
import { formatTable } from '../output.js';

export interface GraphStep extends DagNode {
  handler: string;
}

export interface GraphTemplate {
  namespace: string;
  name: string;
  version: string;
  steps: readonly GraphStep[];
}

/** 1 for a step without dependencies, else one more than its deepest dependency. */
export function stepLevels(steps: readonly DagNode[]): Map<string, number> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const levels = new Map<string, number>();
  const levelOf = (name: string): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    const deps = byName.get(name)?.dependsOn ?? [];
    const level = 1 + Math.max(0, ...deps.map(levelOf));
    levels.set(name, level);
    return level;
  };
  steps.forEach((s) => levelOf(s.name));
  return levels;
}

/** Steps by level, then by name, so a listing reads top to bottom the same way every time. */
export function inDagOrder<T extends DagNode>(steps: readonly T[]): T[] {
  const levels = stepLevels(steps);
  return [...steps].sort(
    (a, b) =>
      (levels.get(a.name) ?? 0) - (levels.get(b.name) ?? 0) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** The DAG as a table by level: each step with its handler and the steps it runs after. */
export function renderGraphText(template: GraphTemplate): string {
  const levels = stepLevels(template.steps);
  const steps = inDagOrder(template.steps);
  const depth = Math.max(0, ...levels.values());
  return [
    `${template.namespace}/${template.name}@${template.version}: ${steps.length} steps, ${depth} levels`,
    formatTable(
      ['level', 'step', 'handler', 'after'],
      steps.map((s) => [
        String(levels.get(s.name)),
        s.name,
        s.handler,
        s.dependsOn.length > 0 ? s.dependsOn.join(', ') : '-',
      ]),
    ),
  ].join('\n');
}

/**
 * A Mermaid flowchart, top to bottom, an edge from each dependency to its dependent. Node ids
 * are prefixed: a step named `end` would otherwise close the chart.
 */
export function renderGraphMermaid(template: GraphTemplate): string {
  const id = (name: string) => `s_${name}`;
  return [
    'flowchart TD',
    ...template.steps.map((s) => `  ${id(s.name)}["${s.name}<br/>${s.handler}"]`),
    ...template.steps.flatMap((s) => s.dependsOn.map((d) => `  ${id(d)} --> ${id(s.name)}`)),
  ].join('\n');
}
