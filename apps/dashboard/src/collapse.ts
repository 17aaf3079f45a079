import type { StepView } from './api';
import type { DagNode } from './dag';

/** Siblings at least this many, with the same handler and parents, are drawn as one node. */
export const COLLAPSE_AT = 10;

/** Worst first: the state a collapsed node shows is the first of these any member is in. */
const STATE_ORDER = [
  'error',
  'in_progress',
  'enqueued',
  'waiting_for_retry',
  'enqueued_as_error_for_orchestration',
  'enqueued_for_orchestration',
  'pending',
  'cancelled',
  'resolved_manually',
  'complete',
];

function rank(state: string): number {
  const at = STATE_ORDER.indexOf(state);
  return at === -1 ? STATE_ORDER.length : at;
}

/**
 * The task's steps as graph nodes, batch-like siblings (same handler, same parents, at least
 * COLLAPSE_AT of them) folded into one node that counts its members by state, so a task with
 * thousands of workers stays a small graph. Selecting a folded node selects its member in the
 * worst state.
 */
export function collapseSteps(steps: StepView[]): DagNode[] {
  const groups = new Map<string, StepView[]>();
  for (const step of steps) {
    const key = `${step.handler}|${[...step.dependsOn].sort().join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  const groupOf = new Map<string, string>();
  for (const members of groups.values()) {
    if (members.length < COLLAPSE_AT) continue;
    const name = `${members[0]!.name} +${members.length - 1}`;
    for (const member of members) groupOf.set(member.name, name);
  }
  const nodes: DagNode[] = [];
  const seen = new Set<string>();
  for (const step of steps) {
    const dependsOn = [...new Set(step.dependsOn.map((d) => groupOf.get(d) ?? d))];
    const group = groupOf.get(step.name);
    if (!group) {
      nodes.push({
        id: step.stepUuid,
        name: step.name,
        dependsOn,
        state: step.state,
        detail: `${step.state.replace(/_/g, ' ')}${step.attempts > 1 ? ` · ${step.attempts} attempts` : ''}`,
      });
      continue;
    }
    if (seen.has(group)) continue;
    seen.add(group);
    const members = steps.filter((s) => groupOf.get(s.name) === group);
    const worst = members.reduce((a, b) => (rank(b.state) < rank(a.state) ? b : a));
    const counts = new Map<string, number>();
    for (const m of members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
    nodes.push({
      id: worst.stepUuid,
      name: group,
      dependsOn,
      state: worst.state,
      detail: [...counts]
        .sort((a, b) => rank(a[0]) - rank(b[0]))
        .map(([state, n]) => `${n} ${state.replace(/_/g, ' ')}`)
        .join(', '),
      members: members.map((m) => ({ id: m.stepUuid, name: m.name, state: m.state })),
    });
  }
  return nodes;
}
