import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';

const NODE_WIDTH = 150;
const NODE_HEIGHT = 44;

interface Layout {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number }>;
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

/** Laid out by dagre, left to right; recomputed only when the graph's shape changes. */
function layout(steps: { name: string; dependsOn: string[] }[]): Layout {
  const graph = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) graph.setNode(step.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const step of steps) for (const parent of step.dependsOn) graph.setEdge(parent, step.name);
  dagre.layout(graph);
  const nodes = new Map<string, { x: number; y: number }>();
  for (const name of graph.nodes()) {
    const node = graph.node(name);
    nodes.set(name, { x: node.x ?? 0, y: node.y ?? 0 });
  }
  const edges = graph.edges().map((edge) => ({
    from: edge.v,
    to: edge.w,
    points: graph.edge(edge).points ?? [],
  }));
  const { width = 0, height = 0 } = graph.graph();
  return { width, height, nodes, edges };
}

/** A step as drawn: a task's (with its state) or a template's. */
export interface DagNode {
  id: string;
  name: string;
  dependsOn: string[];
  state?: string;
  /** The second line of the node: its state and attempts, or a template step's handler. */
  detail: string;
  /** A folded node's steps (their ids), when it stands for several. */
  members?: { id: string; name: string; state: string }[];
}

/**
 * Steps as a graph, each node coloured by its state. With `onSelect`, nodes are buttons: click,
 * Enter or Space selects the step.
 */
export function Dag({
  steps,
  selected = null,
  onSelect,
}: {
  steps: DagNode[];
  selected?: string | null;
  onSelect?: (id: string) => void;
}) {
  const shape = steps.map((s) => `${s.name}<${s.dependsOn.join(',')}`).join(';');
  const graph = useMemo(() => layout(steps), [shape]);
  return (
    <svg
      class="dag"
      role="group"
      aria-label="Steps of the task"
      viewBox={`0 0 ${graph.width} ${graph.height}`}
      width={graph.width}
      height={graph.height}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" class="arrow" />
        </marker>
      </defs>
      {graph.edges.map((edge) => (
        <polyline
          key={`${edge.from}->${edge.to}`}
          class="edge"
          points={edge.points.map((p) => `${p.x},${p.y}`).join(' ')}
          marker-end="url(#arrow)"
        />
      ))}
      {steps.map((step) => {
        const at = graph.nodes.get(step.name);
        if (!at) return null;
        const isSelected =
          selected === step.id || (step.members?.some((m) => m.id === selected) ?? false);
        const interactive = onSelect
          ? {
              tabindex: 0,
              role: 'button' as const,
              'aria-pressed': isSelected,
              'aria-label': `${step.name}: ${step.detail}`,
              onClick: () => onSelect(step.id),
              onKeyDown: (event: KeyboardEvent) => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  onSelect(step.id);
                }
              },
            }
          : {};
        return (
          <g
            key={step.id}
            class={`node state-${step.state ?? 'none'}${isSelected ? ' selected' : ''}${onSelect ? ' interactive' : ''}`}
            data-step={step.name}
            data-state={step.state}
            transform={`translate(${at.x - NODE_WIDTH / 2},${at.y - NODE_HEIGHT / 2})`}
            {...interactive}
          >
            <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="6" />
            <text x="10" y="18" class="node-name">
              {clip(step.name, 18)}
            </text>
            <text x="10" y="34" class="node-state">
              {clip(step.detail, 24)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function clip(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
