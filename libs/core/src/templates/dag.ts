/**
 * Pure DAG utilities over a template's steps (`{ name, dependsOn }`). No I/O: readiness of steps
 * at run time is decided in SQL, these only check and order the static graph.
 */
export interface DagNode {
  name: string;
  dependsOn: readonly string[];
}

/**
 * Every problem that keeps `steps` from being a DAG, in a stable order, each naming the steps
 * involved: duplicate names, self-dependencies, unknown dependencies and cycles
 * (as `cycle: a -> b -> c -> a`). An empty list means the graph is a valid DAG.
 */
export function findDagProblems(steps: readonly DagNode[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, DagNode>();
  const reportedDuplicates = new Set<string>();

  for (const step of steps) {
    if (byName.has(step.name)) {
      if (!reportedDuplicates.has(step.name)) {
        const count = steps.filter((s) => s.name === step.name).length;
        problems.push(`duplicate step name '${step.name}' (defined ${count} times)`);
        reportedDuplicates.add(step.name);
      }
      continue;
    }
    byName.set(step.name, step);
  }

  for (const step of steps) {
    const seen = new Set<string>();
    for (const dep of step.dependsOn) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (dep === step.name) {
        problems.push(`step '${step.name}': depends on itself`);
      } else if (!byName.has(dep)) {
        problems.push(`step '${step.name}': depends on unknown step '${dep}'`);
      }
    }
  }

  for (const cycle of findCycles(byName)) {
    problems.push(`cycle: ${cycle.join(' -> ')}`);
  }
  return problems;
}

/**
 * Cycles of length ≥ 2 found by a depth-first search in file order; each back edge yields one
 * cycle, written from its member that comes first in the file back to that member.
 * Self-dependencies and unknown dependencies are left to the caller (reported separately).
 */
function findCycles(byName: ReadonlyMap<string, DagNode>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const order = new Map([...byName.keys()].map((name, index) => [name, index]));

  const visit = (name: string): void => {
    state.set(name, 'visiting');
    path.push(name);
    const node = byName.get(name);
    for (const dep of new Set(node?.dependsOn ?? [])) {
      if (dep === name || !byName.has(dep)) continue;
      const depState = state.get(dep);
      if (depState === 'visiting') {
        // path holds dependents before their dependencies; print the cycle in
        // dependency order (a -> b means "a must run before b"), starting from the
        // member that comes first in the file.
        const members = path.slice(path.indexOf(dep)).reverse();
        const first = members.reduce((best, m) =>
          (order.get(m) ?? 0) < (order.get(best) ?? 0) ? m : best,
        );
        const rotated = [
          ...members.slice(members.indexOf(first)),
          ...members.slice(0, members.indexOf(first)),
        ];
        cycles.push([...rotated, first]);
      } else if (depState === undefined) {
        visit(dep);
      }
    }
    path.pop();
    state.set(name, 'done');
  };

  for (const name of byName.keys()) {
    if (!state.has(name)) visit(name);
  }
  return cycles;
}

/**
 * The steps in an order where each comes after all of its dependencies. Stable: among steps
 * whose dependencies are satisfied, the one earlier in the input comes first, so an input that
 * is already topologically ordered is returned unchanged. Throws if the graph is not a DAG.
 */
export function topologicalOrder<T extends DagNode>(steps: readonly T[]): T[] {
  const problems = findDagProblems(steps);
  if (problems.length > 0) {
    throw new Error(`steps do not form a DAG: ${problems.join('; ')}`);
  }
  const remaining = [...steps];
  const placed = new Set<string>();
  const ordered: T[] = [];
  while (remaining.length > 0) {
    const index = remaining.findIndex((s) => s.dependsOn.every((d) => placed.has(d)));
    // Cannot be -1: the graph was checked to be acyclic with no unknown dependencies.
    const [next] = remaining.splice(index, 1);
    if (next === undefined) break;
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}
