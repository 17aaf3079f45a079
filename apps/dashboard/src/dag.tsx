import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { StepView } from './api';

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

/**
 * The task's steps as a graph, each node coloured by its state. Nodes are buttons: click, Enter
 * or Space selects the step for the panel.
 */
export function Dag({
  steps,
  selected,
  onSelect,
}: {
  steps: StepView[];
  selected: string | null;
  onSelect: (stepUuid: string) => void;
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
        const select = () => onSelect(step.stepUuid);
        return (
          <g
            key={step.stepUuid}
            class={`node state-${step.state}${selected === step.stepUuid ? ' selected' : ''}`}
            data-step={step.name}
            data-state={step.state}
            transform={`translate(${at.x - NODE_WIDTH / 2},${at.y - NODE_HEIGHT / 2})`}
            tabindex={0}
            role="button"
            aria-pressed={selected === step.stepUuid}
            aria-label={`${step.name}: ${step.state.replace(/_/g, ' ')}`}
            onClick={select}
            onKeyDown={(event) => {
              if (event.key === 'Enter' || event.key === ' ') {
                event.preventDefault();
                select();
              }
            }}
          >
            <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="6" />
            <text x="10" y="18" class="node-name">
              {step.name.length > 18 ? `${step.name.slice(0, 17)}…` : step.name}
            </text>
            <text x="10" y="34" class="node-state">
              {step.state.replace(/_/g, ' ')}
              {step.attempts > 1 ? ` · ${step.attempts} attempts` : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
