// The bench's results as JSON and as Markdown tables (pure functions but for writeReport).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  type BenchSettings,
  LIMITS_COST_MAX_RUNNING,
  LIMITS_COST_TENANTS,
  NOISY_MAX_RUNNING,
  type Topology,
} from './settings.js';
import type { Percentiles } from './stats.js';
import type { SystemResult } from './subject.js';

export interface BenchReport {
  mode: 'quick' | 'full';
  startedAt: string;
  durationSeconds: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; note: string | null };
  versions: Record<string, string>;
  settings: BenchSettings;
  systems: SystemResult[];
}

/** The generated part of BENCHMARKS.md sits between these; the prose around it is kept. */
export const RESULTS_START = '<!-- bench:results:start -->';
export const RESULTS_END = '<!-- bench:results:end -->';

type Direction = 'lower' | 'higher';

/** The best value among the peers that measured it, or null. */
export function bestPeer(
  systems: readonly SystemResult[],
  pick: (s: SystemResult) => number | null | undefined,
  better: Direction,
): { value: number; label: string } | null {
  let best: { value: number; label: string } | null = null;
  for (const s of systems) {
    const value = s.kind === 'peer' ? pick(s) : undefined;
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    if (!best || (better === 'lower' ? value < best.value : value > best.value)) {
      best = { value, label: s.label };
    }
  }
  return best;
}

/** ours ÷ best peer, e.g. "0.84×"; "–" when either is missing or the peer's is 0. */
export function formatRatio(ours: number | null | undefined, best: number | null | undefined) {
  if (ours === null || ours === undefined || best === null || best === undefined || best === 0) {
    return '–';
  }
  return `${(ours / best).toFixed(2)}×`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

const formatRate = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
const formatQps = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toFixed(2);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join(
    '\n',
  );
}

function latencyTable(
  systems: readonly SystemResult[],
  pick: (s: SystemResult) => Percentiles | undefined,
): string {
  const best = {
    p50: bestPeer(systems, (s) => pick(s)?.p50, 'lower'),
    p99: bestPeer(systems, (s) => pick(s)?.p99, 'lower'),
  };
  const rows = systems
    .filter((s) => pick(s))
    .map((s) => {
      const p = pick(s)!;
      return [
        s.label,
        formatMs(p.p50),
        formatMs(p.p95),
        formatMs(p.p99),
        formatMs(p.max),
        String(p.count),
        s.kind === 'tasker' ? formatRatio(p.p50, best.p50?.value) : '',
        s.kind === 'tasker' ? formatRatio(p.p99, best.p99?.value) : '',
      ];
    });
  return table(
    ['System', 'p50', 'p95', 'p99', 'max', 'samples', 'p50 ÷ best peer', 'p99 ÷ best peer'],
    rows,
  );
}

function throughputTable(systems: readonly SystemResult[]): string {
  const best = bestPeer(systems, (s) => s.throughputSingle?.stepsPerSecond, 'higher');
  const rows = systems
    .filter((s) => s.throughputSingle || s.throughputDiamond)
    .map((s) => [
      s.label,
      formatRate(s.throughputSingle?.stepsPerSecond),
      s.throughputSingle ? s.throughputSingle.seconds.toFixed(1) : '–',
      formatRate(s.throughputDiamond?.stepsPerSecond),
      s.throughputDiamond ? s.throughputDiamond.seconds.toFixed(1) : '–',
      s.kind === 'tasker' ? formatRatio(s.throughputSingle?.stepsPerSecond, best?.value) : '',
      s.kind === 'tasker' ? formatRatio(s.throughputDiamond?.stepsPerSecond, best?.value) : '',
    ]);
  return table(
    [
      'System',
      'single-step steps/s',
      'drain s',
      'diamond steps/s',
      'drain s',
      'single ÷ best peer',
      'diamond ÷ best peer',
    ],
    rows,
  );
}

function loadedTransitionTable(systems: readonly SystemResult[]): string {
  const rows = systems
    .filter((s) => s.transitionUnderLoad)
    .map((s) => {
      const idle = s.transition;
      const { transition: loaded, chains, loadStepsPerSecond } = s.transitionUnderLoad!;
      return [
        s.label,
        formatMs(idle?.p50),
        formatMs(idle?.p99),
        formatMs(loaded.p50),
        formatMs(loaded.p95),
        formatMs(loaded.p99),
        formatMs(loaded.max),
        `${loaded.count} (${chains} chains)`,
        formatRate(loadStepsPerSecond),
        formatRatio(loaded.p50, idle?.p50),
        formatRatio(loaded.p99, idle?.p99),
      ];
    });
  return table(
    [
      'System',
      'idle p50',
      'idle p99',
      'loaded p50',
      'p95',
      'p99',
      'max',
      'samples',
      'load steps/s',
      'p50 ÷ idle',
      'p99 ÷ idle',
    ],
    rows,
  );
}

const topologyName = (t: Topology) => `${t.orchestrations} × ${t.workers}`;

/** Steps/s per configuration, each after the first with its ratio to the first. */
function scalingTable(systems: readonly SystemResult[], topologies: readonly Topology[]): string {
  const rows = systems
    .filter((s) => s.scaling?.length)
    .map((s) => {
      const rate = (t: Topology) =>
        s.scaling!.find((p) => p.orchestrations === t.orchestrations && p.workers === t.workers)
          ?.drain.stepsPerSecond;
      const base = topologies[0] && rate(topologies[0]);
      return [
        s.label,
        ...topologies.map((t, i) => {
          const value = rate(t);
          if (i === 0 || value === undefined) return formatRate(value);
          return `${formatRate(value)} (${formatRatio(value, base)})`;
        }),
      ];
    });
  return table(['System', ...topologies.map(topologyName)], rows);
}

function longDrainTable(systems: readonly SystemResult[]): string {
  const rows = systems
    .filter((s) => s.longDrain)
    .map((s) => {
      const d = s.longDrain!;
      return [
        s.label,
        d.tasks.toLocaleString('en-US'),
        d.seconds.toFixed(1),
        formatRate(d.stepsPerSecond),
        formatRate(d.firstTenthStepsPerSecond),
        formatRate(d.lastTenthStepsPerSecond),
        formatRatio(d.lastTenthStepsPerSecond, d.firstTenthStepsPerSecond),
      ];
    });
  return table(
    [
      'System',
      'tasks',
      'drain s',
      'steps/s',
      'first 10% steps/s',
      'last 10% steps/s',
      'last ÷ first',
    ],
    rows,
  );
}

function noisyNeighbourTable(systems: readonly SystemResult[]): string {
  const rows = systems
    .filter((s) => s.noisyNeighbour)
    .map((s) => {
      const n = s.noisyNeighbour!;
      return [
        s.label,
        String(n.noisy.count),
        formatMs(n.idle.p50),
        formatMs(n.idle.p95),
        formatMs(n.noisy.p50),
        formatMs(n.noisy.p95),
        formatRatio(n.noisy.p50, n.idle.p50),
        formatRatio(n.noisy.p95, n.idle.p95),
        n.backlogTasks.toLocaleString('en-US'),
        formatRate(n.backlogStepsPerSecond),
        n.backlogLeft.toLocaleString('en-US'),
      ];
    });
  return table(
    [
      'System',
      'B tasks',
      'idle p50',
      'idle p95',
      'noisy p50',
      'noisy p95',
      'p50 ÷ idle',
      'p95 ÷ idle',
      'A tasks',
      'A steps/s',
      "A left at B's end",
    ],
    rows,
  );
}

/** A cost in %, one decimal: "6.3%"; below 0 the limited drain was the faster. */
export const formatPercent = (n: number) => `${n.toFixed(1)}%`;

function limitsCostTable(systems: readonly SystemResult[]): string {
  const rows = systems
    .filter((s) => s.limitsCost)
    .map((s) => {
      const c = s.limitsCost!;
      const rates = (template: 'plain' | 'limited') =>
        c.drains
          .filter((d) => d.template === template)
          .map((d) => formatRate(d.drain.stepsPerSecond))
          .join(', ');
      return [
        s.label,
        `${c.tenants} × ${c.maxRunning}`,
        c.plain.steps.toLocaleString('en-US'),
        `${formatRate(c.plain.stepsPerSecond)} (${rates('plain')})`,
        `${formatRate(c.limited.stepsPerSecond)} (${rates('limited')})`,
        `${formatPercent(c.costPercent)} (${c.roundCostPercents.map(formatPercent).join(', ')})`,
        `${formatRate(c.withSubmission.plain.stepsPerSecond)} → ${formatRate(c.withSubmission.limited.stepsPerSecond)}`,
        formatPercent(c.withSubmission.costPercent),
      ];
    });
  return table(
    [
      'System',
      'tenants × max_running',
      'tasks per template',
      'plain steps/s',
      'limited steps/s',
      'cost',
      'with submission: steps/s',
      'cost with submission',
    ],
    rows,
  );
}

function idleTable(systems: readonly SystemResult[]): string {
  const best = bestPeer(systems, (s) => s.idle?.worker, 'lower');
  const rows = systems
    .filter((s) => s.idle)
    .map((s) => [
      s.label,
      formatQps(s.idle!.orchestration),
      formatQps(s.idle!.worker),
      s.kind === 'tasker' ? formatRatio(s.idle!.orchestration, best?.value) : '',
      s.kind === 'tasker' ? formatRatio(s.idle!.worker, best?.value) : '',
    ]);
  return table(
    [
      'System',
      'orchestration q/s',
      'worker q/s (each)',
      'orchestration ÷ best peer worker',
      'worker ÷ best peer worker',
    ],
    rows,
  );
}

function rssTable(systems: readonly SystemResult[]): string {
  const best = bestPeer(systems, workerRss, 'lower');
  const rows = systems
    .filter((s) => s.rss?.length)
    .map((s) => [
      s.label,
      s.rss!.map((r) => `${r.process} ${Math.round(r.mib)}`).join(', '),
      s.kind === 'tasker' ? formatRatio(workerRss(s), best?.value) : '',
    ]);
  return table(['System', 'RSS MiB by process', 'worker ÷ best peer worker'], rows);
}

interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

/**
 * Where the hot-path work started (BENCHMARKS.md's run of 97630c4, before it): idle queries
 * per second of an EventDrivenOnly orchestration and worker, and each backend's worker RSS.
 * "No worse than today" is checked against these.
 */
export const BASELINE = {
  idleEventDriven: { orchestration: 1.43, worker: 0.08 },
  workerRssMiB: { pgmq: 147, rabbitmq: 152 },
} as const;

/** Systems whose latency targets apply: the event-driven paths (PollingOnly polls by design). */
const EVENT_DRIVEN: readonly string[] = ['pgmq-hybrid', 'pgmq-event-driven', 'rabbitmq'];

function workerRss(s: SystemResult): number | undefined {
  const workers = (s.rss ?? []).filter((r) => !r.process.startsWith('orchestration'));
  return workers.length ? workers.reduce((a, r) => a + r.mib, 0) / workers.length : undefined;
}

/** The hot-path issue's targets, each checked against this run (ratios to graphile-worker). */
export function checkTargets(systems: readonly SystemResult[]): Target[] {
  const ours = systems.filter((s) => s.kind === 'tasker');
  const graphile = systems.find((s) => s.id === 'graphile-worker');
  const targets: Target[] = [];
  const ratioTarget = (
    target: string,
    value: number | undefined,
    bound: number | undefined,
    limit: number,
    higherIsBetter: boolean,
    unit: (n: number | undefined) => string,
  ) => {
    if (value === undefined) return;
    const ratio = bound ? value / bound : undefined;
    targets.push({
      target,
      measured: `${unit(value)} vs ${unit(bound)} (${formatRatio(value, bound)})`,
      met: ratio === undefined ? null : higherIsBetter ? ratio >= limit : ratio <= limit,
    });
  };
  const ms = (n: number | undefined) => `${formatMs(n)} ms`;
  const rate = (n: number | undefined) => `${formatRate(n)}/s`;
  const peerSingle = graphile?.throughputSingle?.stepsPerSecond;
  for (const s of ours) {
    const pgmqEventDriven = s.id === 'pgmq-hybrid' || s.id === 'pgmq-event-driven';
    if (pgmqEventDriven) {
      ratioTarget(
        `${s.label}: single-step drain ≥ 1.0× graphile-worker's`,
        s.throughputSingle?.stepsPerSecond,
        peerSingle,
        1,
        true,
        rate,
      );
    }
    ratioTarget(
      `${s.label}: diamond drain ≥ 0.8× graphile-worker's single-step drain`,
      s.throughputDiamond?.stepsPerSecond,
      peerSingle,
      0.8,
      true,
      rate,
    );
    if (EVENT_DRIVEN.includes(s.id)) {
      ratioTarget(
        `${s.label}: transition p50 ≤ 1.5× graphile-worker's`,
        s.transition?.p50,
        graphile?.transition?.p50,
        1.5,
        false,
        ms,
      );
      ratioTarget(
        `${s.label}: transition p99 ≤ 2× graphile-worker's`,
        s.transition?.p99,
        graphile?.transition?.p99,
        2,
        false,
        ms,
      );
    }
    if (pgmqEventDriven) {
      ratioTarget(
        `${s.label}: submit→start p50 ≤ 1.5× graphile-worker's`,
        s.latency?.p50,
        graphile?.latency?.p50,
        1.5,
        false,
        ms,
      );
    }
    if (s.noisyNeighbour) {
      const { idle, noisy, backlogLeft } = s.noisyNeighbour;
      targets.push({
        target: `${s.label}: tenant B's p50 and p95 beside tenant A's backlog ≤ 2× idle`,
        measured:
          `p50 ${ms(noisy.p50)} vs ${ms(idle.p50)} (${formatRatio(noisy.p50, idle.p50)}), ` +
          `p95 ${ms(noisy.p95)} vs ${ms(idle.p95)} (${formatRatio(noisy.p95, idle.p95)})` +
          (backlogLeft > 0 ? '' : "; A's backlog ended first"),
        met: backlogLeft > 0 ? noisy.p50 <= 2 * idle.p50 && noisy.p95 <= 2 * idle.p95 : null,
      });
    }
    if (s.limitsCost) {
      const { plain, limited, costPercent, roundCostPercents } = s.limitsCost;
      targets.push({
        target: `${s.label}: a drain under a limit that does not bind ≤ 10% slower than without`,
        measured:
          `${rate(limited.stepsPerSecond)} vs ${rate(plain.stepsPerSecond)} (cost ${formatPercent(costPercent)}; ` +
          `rounds ${roundCostPercents.map(formatPercent).join(', ')})`,
        met: costPercent <= 10,
      });
    }
    if (s.longDrain) {
      const { firstTenthStepsPerSecond: first, lastTenthStepsPerSecond: last } = s.longDrain;
      targets.push({
        target: `${s.label}: long drain's last 10% no more than 10% slower than its first 10%`,
        measured: `${formatRate(last)}/s vs ${formatRate(first)}/s (${formatRatio(last, first)})`,
        met: last >= 0.9 * first,
      });
    }
    const baselineRss =
      s.id === 'rabbitmq' ? BASELINE.workerRssMiB.rabbitmq : BASELINE.workerRssMiB.pgmq;
    const rss = workerRss(s);
    if (rss !== undefined) {
      targets.push({
        target: `${s.label}: worker RSS no worse than before (${baselineRss} MiB)`,
        measured: `${Math.round(rss)} MiB`,
        met: rss <= baselineRss,
      });
    }
  }
  const byId = (id: string) => ours.find((s) => s.id === id);
  const pgmqSingle = byId('pgmq-event-driven')?.throughputSingle?.stepsPerSecond;
  ratioTarget(
    "Tasker RabbitMQ: single-step drain ≥ 1.5× PGMQ EventDrivenOnly's",
    byId('rabbitmq')?.throughputSingle?.stepsPerSecond,
    pgmqSingle,
    1.5,
    true,
    rate,
  );
  ratioTarget(
    "Tasker RabbitMQ: submit→start p50 ≤ 1.5× PGMQ EventDrivenOnly's",
    byId('rabbitmq')?.latency?.p50,
    byId('pgmq-event-driven')?.latency?.p50,
    1.5,
    false,
    ms,
  );
  const idle = byId('pgmq-event-driven')?.idle;
  if (idle) {
    const before = BASELINE.idleEventDriven;
    targets.push({
      target: `EventDrivenOnly idle no worse than before (orchestration ${before.orchestration}, worker ${before.worker} query/s)`,
      measured: `orchestration ${formatQps(idle.orchestration)}, worker ${formatQps(idle.worker)}`,
      met: (idle.orchestration ?? 0) <= before.orchestration && idle.worker <= before.worker,
    });
  }
  return targets;
}

/** A heading and its body, followed by a blank line; nothing when `present` is false. */
const section = (present: boolean, heading: string, body: string): string[] =>
  present ? [heading, '', body, ''] : [];

export function renderMarkdown(report: BenchReport): string {
  const { settings: s, machine, systems } = report;
  const lines = [
    `Run of ${report.startedAt} (${report.mode}${report.mode === 'quick' ? ': small counts, indicative only' : ''}), ${Math.round(report.durationSeconds / 60)} min.`,
    '',
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}.${machine.note ? ` ${machine.note}` : ''}`,
    '',
    `**Versions:** ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `**Settings:** ${s.workers} worker processes × ${s.concurrency} handlers at once for every system (Tasker also runs 1 orchestration process); pool max ${s.poolMax} per process; ` +
      `${s.latencySamples} latency samples, ${s.chains} chains of ${s.chainLength} (${s.chains * (s.chainLength - 1)} transitions), ` +
      `backlogs of ${s.backlogSingle.toLocaleString('en-US')} single-step tasks and ${s.backlogDiamonds.toLocaleString('en-US')} diamonds (${(s.backlogDiamonds * 4).toLocaleString('en-US')} steps), ` +
      `idle windows of ${s.idleWindowMs / 1000} s after ${s.idleSettleMs / 1000} s settling. ` +
      `Tasker only: transitions under load beside a drain of ${s.loadBacklog.toLocaleString('en-US')} single-step tasks, ` +
      `scaling drains of ${s.backlogSingle.toLocaleString('en-US')} single-step tasks with ${s.scaling.map(topologyName).join(', ')} orchestration × worker processes, ` +
      `a long drain of ${s.longDrainTasks.toLocaleString('en-US')} single-step tasks, ` +
      `a noisy neighbour: ${s.noisySamples} tasks of tenant B beside ${s.noisyBacklog.toLocaleString('en-US')} of tenant A (max_running ${NOISY_MAX_RUNNING} per tenant), ` +
      `the cost of limits: drains of ${s.limitsCostTasks.toLocaleString('en-US')} single-step tasks over ${LIMITS_COST_TENANTS} tenants (max_running ${LIMITS_COST_MAX_RUNNING} each) and without a limit, in two rounds: plain, limited, limited, plain, then limited, plain, plain, limited.`,
    '',
    "Ratios divide our figure by the best peer's in the same run: below 1 is better for times, queries and memory; above 1 is better for throughput.",
    '',
    '### Submit → first step start (ms)',
    '',
    latencyTable(systems, (x) => x.latency),
    '',
    '### Step → next step transition (ms)',
    '',
    latencyTable(systems, (x) => x.transition),
    '',
    ...section(
      systems.some((x) => x.transitionUnderLoad),
      '### Step → next step transition beside a single-step drain (ms)',
      loadedTransitionTable(systems),
    ),
    '### Sustained throughput (backlog drain)',
    '',
    throughputTable(systems),
    '',
    ...section(
      systems.some((x) => x.scaling?.length),
      '### Scaling: single-step drain steps/s by orchestration × worker processes',
      `${scalingTable(systems, s.scaling)}\n\nIn brackets: the ratio to ${s.scaling[0] ? topologyName(s.scaling[0]) : 'the first'}.`,
    ),
    ...section(
      systems.some((x) => x.longDrain),
      '### Long drain: steps/s at the start and at the end',
      longDrainTable(systems),
    ),
    ...section(
      systems.some((x) => x.noisyNeighbour),
      "### Noisy neighbour: tenant B's tasks, submission → completion (ms), beside tenant A's backlog",
      `${noisyNeighbourTable(systems)}\n\nA task-level limit of ${NOISY_MAX_RUNNING} tasks per tenant (bench/fair). "A left at B's end": tenant A's tasks that completed after tenant B's last; 0 means the backlog did not outlast B and the noisy figures say nothing.`,
    ),
    ...section(
      systems.some((x) => x.limitsCost),
      '### Limits cost: single-step drain steps/s with a limit that does not bind and without',
      `${limitsCostTable(systems)}\n\nIn brackets: each drain's rate, in the order they ran, and each round's cost. Cost: (plain − limited) ÷ plain, over all the drains. With submission: the same steps over the seconds their submission (workers stopped) and their drain took; a step that waits for a slot is enqueued in the drain, a plain one at submission.`,
    ),
    '### Idle cost (queries per second per replica)',
    '',
    idleTable(systems),
    '',
    '### Memory at the end of the throughput runs',
    '',
    rssTable(systems),
    '',
    '### Targets',
    '',
    table(
      ['Target', 'Measured', 'Met'],
      checkTargets(systems).map((t) => [
        t.target,
        t.measured,
        t.met === null ? '–' : t.met ? 'yes' : '**no**',
      ]),
    ),
  ];
  const failed = systems.filter((x) => x.error);
  if (failed.length > 0) {
    lines.push('', '### Failures', '', ...failed.map((x) => `- ${x.label}: ${x.error}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Replaces the generated section of `document` (appending it when there are no markers). */
export function spliceResults(document: string, results: string): string {
  const block = `${RESULTS_START}\n${results}${RESULTS_END}`;
  const start = document.indexOf(RESULTS_START);
  const end = document.indexOf(RESULTS_END);
  if (start < 0 || end < start) return `${document.trimEnd()}\n\n${block}\n`;
  return document.slice(0, start) + block + document.slice(end + RESULTS_END.length);
}

/**
 * Writes bench-results/<mode>-<time>.{json,md}; a full run of every scenario and system also
 * becomes the published result: BENCHMARKS.json and the tables in BENCHMARKS.md.
 */
export async function writeReport(
  report: BenchReport,
  publish: boolean,
): Promise<{ files: string[] }> {
  const stamp = report.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const markdown = renderMarkdown(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await mkdir('bench-results', { recursive: true });
  const files = [
    `bench-results/${report.mode}-${stamp}.json`,
    `bench-results/${report.mode}-${stamp}.md`,
  ];
  await writeFile(files[0]!, json);
  await writeFile(files[1]!, markdown);
  if (publish) {
    const current = await readFile('BENCHMARKS.md', 'utf8').catch(() => '# Benchmarks\n');
    await writeFile('BENCHMARKS.md', spliceResults(current, markdown));
    await writeFile('BENCHMARKS.json', json);
    files.push('BENCHMARKS.md', 'BENCHMARKS.json');
  }
  return { files };
}
