import type { DagNode, StepKind } from '#core';
import { decisionBranches, kindOf } from '#core';
import { formatTable } from '../output.js';

export interface GraphStep extends DagNode {
  handler: string;
  /** Absent means `standard`. */
  kind?: StepKind;
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

/**
 * What shapes the graph while a task runs, one line per decision, batch and convergence: the
 * branches a decision may create, the workers a batchable step makes, what a convergence
 * waits for.
 */
export function dynamicNotes(steps: readonly GraphStep[]): string[] {
  return inDagOrder(steps).flatMap((s) => {
    const kind = kindOf(s);
    if (kind === 'decision') {
      const branches = decisionBranches({ steps }, s.name);
      return [
        `decision ${s.name}: creates the branches its outcome names, of ${branches.join(', ') || 'none'}`,
      ];
    }
    if (kind === 'batchable') {
      const workers = steps.filter(
        (w) => kindOf(w) === 'batch_worker' && w.dependsOn.includes(s.name),
      );
      return workers.map(
        (w) =>
          `batch ${s.name}: makes ${w.name}_001, ${w.name}_002, … (one per batch) from ${w.name}`,
      );
    }
    if (kind === 'deferred_convergence') {
      return [`convergence ${s.name}: waits for whichever of ${s.dependsOn.join(', ')} exist`];
    }
    return [];
  });
}

/**
 * The DAG as a table by level: each step with its handler and the steps it runs after (and
 * its type, when the template has steps other than standard ones), then what decisions,
 * batches and convergence steps do while a task runs.
 */
export function renderGraphText(template: GraphTemplate): string {
  const levels = stepLevels(template.steps);
  const steps = inDagOrder(template.steps);
  const depth = Math.max(0, ...levels.values());
  const typed = steps.some((s) => kindOf(s) !== 'standard');
  const notes = dynamicNotes(template.steps);
  return [
    `${template.namespace}/${template.name}@${template.version}: ${steps.length} steps, ${depth} levels`,
    formatTable(
      ['level', 'step', ...(typed ? ['type'] : []), 'handler', 'after'],
      steps.map((s) => [
        String(levels.get(s.name)),
        s.name,
        ...(typed ? [kindOf(s)] : []),
        s.handler,
        s.dependsOn.length > 0 ? s.dependsOn.join(', ') : '-',
      ]),
    ),
    ...notes,
  ].join('\n');
}

/**
 * A Mermaid flowchart, top to bottom, an edge from each dependency to its dependent. Node ids
 * are prefixed: a step named `end` would otherwise close the chart. A decision is a rhombus
 * whose branches hang from dotted edges (created only if its outcome names them), a batch
 * worker template a stacked box reached by a thick `batches` edge, and a convergence step is
 * reached by dotted edges (it waits only for those that exist).
 */
export function renderGraphMermaid(template: GraphTemplate): string {
  const id = (name: string) => `s_${name}`;
  const kinds = new Map(template.steps.map((s) => [s.name, kindOf(s)]));
  const node = (s: GraphStep) => {
    const label = `"${s.name}<br/>${s.handler}"`;
    const kind = kinds.get(s.name);
    if (kind === 'decision') return `  ${id(s.name)}{${label}}`;
    if (kind === 'batch_worker') return `  ${id(s.name)}[[${label}]]`;
    return `  ${id(s.name)}[${label}]`;
  };
  const edge = (from: string, to: string) => {
    if (kinds.get(to) === 'batch_worker' && kinds.get(from) === 'batchable') {
      return `  ${id(from)} ==>|batches| ${id(to)}`;
    }
    if (kinds.get(from) === 'decision' || kinds.get(to) === 'deferred_convergence') {
      return `  ${id(from)} -.-> ${id(to)}`;
    }
    return `  ${id(from)} --> ${id(to)}`;
  };
  return [
    'flowchart TD',
    ...template.steps.map(node),
    ...template.steps.flatMap((s) => s.dependsOn.map((d) => edge(d, s.name))),
  ].join('\n');
}
