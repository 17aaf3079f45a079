import type { StepTransitionRow, StepView } from './api';
import { formatDuration } from './format';

/** The phases of a step drawn on the timeline, by the state it was in. */
const PHASES: Record<string, string> = {
  enqueued: 'queue wait',
  in_progress: 'running',
  waiting_for_retry: 'retry wait',
  enqueued_for_orchestration: 'result pending',
  enqueued_as_error_for_orchestration: 'result pending',
};

const LABEL_WIDTH = 150;
const CHART_WIDTH = 640;
const ROW_HEIGHT = 22;
/** Rows drawn at most: a task with thousands of steps shows its first ones by start time. */
const MAX_ROWS = 300;

interface Segment {
  state: string;
  start: number;
  end: number;
}

/** For each step, the time it spent in each phase, from its transitions (oldest first). */
function segments(rows: StepTransitionRow[], now: number): Map<string, Segment[]> {
  const byStep = new Map<string, StepTransitionRow[]>();
  for (const row of rows) {
    const list = byStep.get(row.stepUuid) ?? [];
    list.push(row);
    byStep.set(row.stepUuid, list);
  }
  const result = new Map<string, Segment[]>();
  for (const [stepUuid, list] of byStep) {
    const spans: Segment[] = [];
    list.forEach((row, i) => {
      if (!(row.toState in PHASES)) return;
      const next = list[i + 1];
      spans.push({
        state: row.toState,
        start: Date.parse(row.createdAt),
        end: next ? Date.parse(next.createdAt) : now,
      });
    });
    result.set(stepUuid, spans);
  }
  return result;
}

/**
 * A waterfall of the task's steps: how long each waited in its queue, ran, waited for a retry
 * and waited for orchestration to take its result, on one time axis from the task's request.
 */
export function Waterfall({
  steps,
  transitions,
  requestedAt,
  finishedAt,
}: {
  steps: StepView[];
  transitions: StepTransitionRow[];
  requestedAt: string;
  finishedAt: string | null;
}) {
  const now = finishedAt ? Date.parse(finishedAt) : Date.now();
  const spans = segments(transitions, now);
  const origin = Date.parse(requestedAt);
  const end = Math.max(now, ...[...spans.values()].flat().map((s) => s.end));
  const total = Math.max(end - origin, 1);
  const x = (t: number) => LABEL_WIDTH + ((t - origin) / total) * CHART_WIDTH;
  const ordered = [...steps]
    .sort((a, b) => {
      const first = (s: StepView) => spans.get(s.stepUuid)?.[0]?.start ?? Infinity;
      return first(a) - first(b);
    })
    .slice(0, MAX_ROWS);
  const height = ordered.length * ROW_HEIGHT + 24;
  return (
    <figure class="waterfall">
      <svg
        viewBox={`0 0 ${LABEL_WIDTH + CHART_WIDTH + 8} ${height}`}
        width={LABEL_WIDTH + CHART_WIDTH + 8}
        height={height}
        role="img"
        aria-label="Timeline of the steps: queue wait and run time"
      >
        {ordered.map((step, row) => (
          <g
            key={step.stepUuid}
            transform={`translate(0,${row * ROW_HEIGHT})`}
            data-step={step.name}
          >
            <text x="0" y="15" class="wf-label">
              {step.name.length > 20 ? `${step.name.slice(0, 19)}…` : step.name}
            </text>
            {(spans.get(step.stepUuid) ?? []).map((span, i) => (
              <rect
                key={i}
                class={`wf-${span.state}`}
                x={x(span.start)}
                y="4"
                width={Math.max(x(span.end) - x(span.start), 1.5)}
                height={ROW_HEIGHT - 8}
              >
                <title>
                  {step.name}: {PHASES[span.state]} {formatDuration(span.end - span.start)}
                </title>
              </rect>
            ))}
          </g>
        ))}
        <text x={LABEL_WIDTH} y={height - 6} class="wf-axis">
          0
        </text>
        <text x={LABEL_WIDTH + CHART_WIDTH} y={height - 6} class="wf-axis" text-anchor="end">
          {formatDuration(total)}
        </text>
      </svg>
      <figcaption class="legend">
        {steps.length > ordered.length && (
          <span>
            The first {ordered.length} of {steps.length} steps by start time.{' '}
          </span>
        )}
        <span class="key wf-enqueued" /> queue wait <span class="key wf-in_progress" /> running{' '}
        <span class="key wf-waiting_for_retry" /> retry wait{' '}
        <span class="key wf-enqueued_for_orchestration" /> result pending
      </figcaption>
    </figure>
  );
}
