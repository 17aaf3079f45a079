import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  type BenchReport,
  bestPeer,
  checkTargets,
  formatRatio,
  renderMarkdown,
  RESULTS_END,
  RESULTS_START,
  spliceResults,
} from './report.js';
import {
  LIMITS_COST_MAX_RUNNING,
  NOISY_MAX_RUNNING,
  parseBenchArgs,
  type BenchSettings,
} from './settings.js';
import type { SystemResult } from './subject.js';

const latency = (p50: number, p99: number) => ({
  count: 100,
  p50,
  p95: p99,
  p99,
  max: p99,
  mean: p50,
});

const systems: SystemResult[] = [
  {
    id: 'pgmq-event-driven',
    label: 'Tasker PGMQ EventDrivenOnly',
    kind: 'tasker',
    latency: latency(4, 20),
    transition: latency(6, 30),
    throughputSingle: { tasks: 100, steps: 100, seconds: 0.5, stepsPerSecond: 200 },
    idle: { windowSeconds: 30, orchestration: 1.2, worker: 0.1 },
    rss: [
      { process: 'orchestration', mib: 120 },
      { process: 'worker-1', mib: 100 },
    ],
  },
  {
    id: 'graphile-worker',
    label: 'graphile-worker',
    kind: 'peer',
    latency: latency(5, 10),
    transition: latency(3, 8),
    throughputSingle: { tasks: 100, steps: 100, seconds: 0.25, stepsPerSecond: 400 },
    idle: { windowSeconds: 30, orchestration: null, worker: 0.5 },
    rss: [{ process: 'graphile-worker-1', mib: 80 }],
  },
  {
    id: 'pg-boss',
    label: 'pg-boss',
    kind: 'peer',
    latency: latency(2, 300),
    throughputSingle: { tasks: 100, steps: 100, seconds: 5, stepsPerSecond: 20 },
    idle: { windowSeconds: 30, orchestration: null, worker: 20 },
  },
];

describe('bench report', () => {
  it('finds the best peer per metric and direction, ignoring our own systems', () => {
    expect(bestPeer(systems, (s) => s.latency?.p50, 'lower')).toEqual({
      value: 2,
      label: 'pg-boss',
    });
    expect(bestPeer(systems, (s) => s.throughputSingle?.stepsPerSecond, 'higher')).toEqual({
      value: 400,
      label: 'graphile-worker',
    });
    expect(bestPeer(systems, (s) => s.throughputDiamond?.stepsPerSecond, 'higher')).toBeNull();
  });

  it('formats ratios, with a dash where there is nothing to divide', () => {
    expect(formatRatio(3, 4)).toBe('0.75×');
    expect(formatRatio(3, 0)).toBe('–');
    expect(formatRatio(undefined, 4)).toBe('–');
  });

  it('checks the hot-path targets against graphile-worker and the starting point', () => {
    const targets = checkTargets(systems);
    expect(targets.map((t) => [t.target, t.met])).toEqual([
      ["Tasker PGMQ EventDrivenOnly: single-step drain ≥ 1.0× graphile-worker's", false],
      ["Tasker PGMQ EventDrivenOnly: transition p50 ≤ 1.5× graphile-worker's", false],
      ["Tasker PGMQ EventDrivenOnly: transition p99 ≤ 2× graphile-worker's", false],
      ["Tasker PGMQ EventDrivenOnly: submit→start p50 ≤ 1.5× graphile-worker's", true],
      ['Tasker PGMQ EventDrivenOnly: worker RSS no worse than before (147 MiB)', true],
      [
        'EventDrivenOnly idle no worse than before (orchestration 1.43, worker 0.08 query/s)',
        false,
      ],
    ]);
    expect(targets[0]!.measured).toBe('200/s vs 400/s (0.50×)');
    expect(targets[3]!.measured).toBe('4.00 ms vs 5.00 ms (0.80×)');

    const rabbit: SystemResult = {
      ...systems[0]!,
      id: 'rabbitmq',
      label: 'Tasker RabbitMQ',
      latency: latency(5, 20),
      throughputSingle: { tasks: 100, steps: 100, seconds: 0.2, stepsPerSecond: 320 },
      throughputDiamond: { tasks: 25, steps: 100, seconds: 0.3, stepsPerSecond: 330 },
      rss: [{ process: 'worker-1', mib: 160 }],
    };
    const met = Object.fromEntries(
      checkTargets([...systems, rabbit]).map((t) => [t.target, t.met]),
    );
    expect(met).toMatchObject({
      "Tasker RabbitMQ: diamond drain ≥ 0.8× graphile-worker's single-step drain": true,
      "Tasker RabbitMQ: single-step drain ≥ 1.5× PGMQ EventDrivenOnly's": true,
      "Tasker RabbitMQ: submit→start p50 ≤ 1.5× PGMQ EventDrivenOnly's": true,
      'Tasker RabbitMQ: worker RSS no worse than before (152 MiB)': false,
    });
    expect(Object.keys(met)).not.toContain(
      "Tasker RabbitMQ: single-step drain ≥ 1.0× graphile-worker's",
    );
  });

  it('renders the tables with ratios to the best peer', () => {
    const report: BenchReport = {
      mode: 'quick',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationSeconds: 120,
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24, os: 'Linux', note: 'shared machine' },
      versions: { node: '20' },
      settings: parseBenchArgs(['--quick']) as BenchSettings,
      systems,
    };
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('Test CPU, 2 cores, 24 GiB, Linux. shared machine');
    expect(markdown).toContain(
      '| Tasker PGMQ EventDrivenOnly | 4.00 | 20.0 | 20.0 | 20.0 | 100 | 2.00× | 2.00× |',
    );
    expect(markdown).toContain('| Tasker PGMQ EventDrivenOnly | 200 | 0.5 | – | – | 0.50× | – |');
    expect(markdown).toContain('| Tasker PGMQ EventDrivenOnly | 1.20 | 0.10 | 2.40× | 0.20× |');
    expect(markdown).toContain('orchestration 120, worker-1 100 | 1.25× |');
  });

  describe('Tasker-only scenarios', () => {
    const drain = (stepsPerSecond: number) => ({
      tasks: 300,
      steps: 300,
      seconds: 300 / stepsPerSecond,
      stepsPerSecond,
    });
    const ours: SystemResult = {
      ...systems[0]!,
      transitionUnderLoad: {
        transition: latency(24, 90),
        chains: 4,
        loadTasks: 2000,
        loadStepsPerSecond: 310.4,
      },
      scaling: [
        { orchestrations: 1, workers: 2, drain: drain(200) },
        { orchestrations: 2, workers: 2, drain: drain(230) },
        { orchestrations: 2, workers: 4, drain: drain(300) },
      ],
      longDrain: {
        ...drain(250),
        tasks: 2000,
        steps: 2000,
        seconds: 8,
        firstTenthStepsPerSecond: 260,
        lastTenthStepsPerSecond: 230,
      },
    };
    const report = (results: SystemResult[]): BenchReport => ({
      mode: 'quick',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationSeconds: 120,
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24, os: 'Linux', note: null },
      versions: { node: '20' },
      settings: parseBenchArgs(['--quick']) as BenchSettings,
      systems: results,
    });

    it('puts transitions under load next to the idle ones', () => {
      const markdown = renderMarkdown(report([ours, systems[1]!]));
      expect(markdown).toContain(
        '| Tasker PGMQ EventDrivenOnly | 6.00 | 30.0 | 24.0 | 90.0 | 90.0 | 90.0 | 100 (4 chains) | 310 | 4.00× | 3.00× |',
      );
      // Without an idle transition in the run, the idle columns and ratios are dashes.
      const alone = renderMarkdown(report([{ ...ours, transition: undefined }]));
      expect(alone).toContain('| Tasker PGMQ EventDrivenOnly | – | – | 24.0 |');
      expect(alone).toContain('| 310 | – | – |');
    });

    it('tabulates scaling by configuration, with the ratio to the first', () => {
      const markdown = renderMarkdown(report([ours]));
      expect(markdown).toContain('| System | 1 × 2 | 2 × 2 | 1 × 4 | 2 × 4 |');
      expect(markdown).toContain(
        '| Tasker PGMQ EventDrivenOnly | 200 | 230 (1.15×) | – | 300 (1.50×) |',
      );
      expect(markdown).toContain('In brackets: the ratio to 1 × 2.');
    });

    it('reports the long drain and checks its last tenth against its first', () => {
      const markdown = renderMarkdown(report([ours]));
      expect(markdown).toContain(
        '| Tasker PGMQ EventDrivenOnly | 2,000 | 8.0 | 250 | 260 | 230 | 0.88× |',
      );
      const target = checkTargets([ours]).find((t) => t.target.includes('long drain'));
      expect(target).toEqual({
        target:
          "Tasker PGMQ EventDrivenOnly: long drain's last 10% no more than 10% slower than its first 10%",
        measured: '230/s vs 260/s (0.88×)',
        met: false,
      });
      const steady = { ...ours.longDrain!, lastTenthStepsPerSecond: 235 };
      expect(
        checkTargets([{ ...ours, longDrain: steady }]).find((t) => t.target.includes('long drain'))
          ?.met,
      ).toBe(true);
    });

    const limited: SystemResult = {
      ...systems[0]!,
      noisyNeighbour: {
        maxRunning: 10,
        idle: latency(40, 80),
        noisy: latency(60, 200),
        backlogTasks: 10000,
        backlogStepsPerSecond: 612.4,
        backlogLeft: 9000,
      },
      limitsCost: {
        tenants: 20,
        maxRunning: 50,
        drains: [
          { template: 'plain', drain: drain(1000), queueSeconds: 0.6 },
          { template: 'limited', drain: drain(900), queueSeconds: 0.6 },
          { template: 'limited', drain: drain(950), queueSeconds: 0.56 },
          { template: 'plain', drain: drain(1100), queueSeconds: 0.6 },
          { template: 'limited', drain: drain(1000), queueSeconds: 0.6 },
          { template: 'plain', drain: drain(1000), queueSeconds: 0.6 },
          { template: 'plain', drain: drain(900), queueSeconds: 0.6 },
          { template: 'limited', drain: drain(900), queueSeconds: 0.6 },
        ],
        plain: { tasks: 600, steps: 600, seconds: 0.6, stepsPerSecond: 1000 },
        limited: { tasks: 600, steps: 600, seconds: 0.64, stepsPerSecond: 937.5 },
        costPercent: 6.25,
        roundCostPercents: [11.1, 1.6],
        withSubmission: {
          plain: { tasks: 600, steps: 600, seconds: 1.8, stepsPerSecond: 333.3 },
          limited: { tasks: 600, steps: 600, seconds: 1.8, stepsPerSecond: 333.3 },
          costPercent: 0,
        },
      },
    };

    it('reports the noisy neighbour against the idle tenant, and checks it against 2×', () => {
      const markdown = renderMarkdown(report([limited]));
      expect(markdown).toContain('### Noisy neighbour');
      expect(markdown).toContain(
        '| Tasker PGMQ EventDrivenOnly | 100 | 40.0 | 80.0 | 60.0 | 200 | 1.50× | 2.50× | 10,000 | 612 | 9,000 |',
      );
      const target = (r: SystemResult) =>
        checkTargets([r]).find((t) => t.target.includes('tenant B'));
      expect(target(limited)).toEqual({
        target:
          "Tasker PGMQ EventDrivenOnly: tenant B's p50 and p95 beside tenant A's backlog ≤ 2× idle",
        measured: 'p50 60.0 ms vs 40.0 ms (1.50×), p95 200 ms vs 80.0 ms (2.50×)',
        met: false,
      });
      const fair = { ...limited.noisyNeighbour!, noisy: latency(60, 150) };
      expect(target({ ...limited, noisyNeighbour: fair })?.met).toBe(true);
      // B did not run beside the backlog: nothing to check.
      const late = target({ ...limited, noisyNeighbour: { ...fair, backlogLeft: 0 } });
      expect(late?.met).toBeNull();
      expect(late?.measured).toContain("A's backlog ended first");
    });

    it('reports the cost of a limit that does not bind, and checks it against 10%', () => {
      const markdown = renderMarkdown(report([limited]));
      expect(markdown).toContain(
        '| Tasker PGMQ EventDrivenOnly | 20 × 50 | 600 | 1,000 (1,000, 1,100, 1,000, 900) | 938 (900, 950, 1,000, 900) | 6.3% (11.1%, 1.6%) | 333 → 333 | 0.0% |',
      );
      const target = (r: SystemResult) =>
        checkTargets([r]).find((t) => t.target.includes('limit that does not bind'));
      expect(target(limited)).toEqual({
        target:
          'Tasker PGMQ EventDrivenOnly: a drain under a limit that does not bind ≤ 10% slower than without',
        measured: '938/s vs 1,000/s (cost 6.3%; rounds 11.1%, 1.6%)',
        met: true,
      });
      const costly = { ...limited.limitsCost!, costPercent: 12 };
      expect(target({ ...limited, limitsCost: costly })?.met).toBe(false);
    });

    it("declares the limits the report states in the bench's templates", () => {
      const maxRunning = (file: string) =>
        (
          parse(readFileSync(`scripts/bench/templates/${file}`, 'utf8')) as {
            concurrency?: { key?: string; max_running?: number };
          }
        ).concurrency;
      expect(maxRunning('fair.yaml')).toEqual({
        key: 'context.tenant',
        max_running: NOISY_MAX_RUNNING,
      });
      expect(maxRunning('limited.yaml')).toEqual({
        key: 'context.tenant',
        max_running: LIMITS_COST_MAX_RUNNING,
      });
      expect(maxRunning('unlimited.yaml')).toBeUndefined();
    });

    it('leaves out the sections of scenarios nobody ran', () => {
      const markdown = renderMarkdown(report(systems));
      expect(markdown).toContain('### Step → next step transition (ms)');
      expect(markdown).not.toContain('beside a single-step drain');
      expect(markdown).not.toContain('### Scaling');
      expect(markdown).not.toContain('### Long drain');
      expect(markdown).not.toContain('### Noisy neighbour');
      expect(markdown).not.toContain('### Limits cost');
    });
  });

  it('replaces only the generated section of BENCHMARKS.md', () => {
    const doc = `# Benchmarks\nintro\n${RESULTS_START}\nold\n${RESULTS_END}\nprose after\n`;
    expect(spliceResults(doc, 'new\n')).toBe(
      `# Benchmarks\nintro\n${RESULTS_START}\nnew\n${RESULTS_END}\nprose after\n`,
    );
    expect(spliceResults('# Benchmarks\n', 'new\n')).toBe(
      `# Benchmarks\n\n${RESULTS_START}\nnew\n${RESULTS_END}\n`,
    );
  });
});
