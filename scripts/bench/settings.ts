export const SCENARIOS = [
  'latency',
  'transition',
  'throughput',
  'idle',
  'transition-load',
  'scaling',
  'noisy-neighbour',
  'limits-cost',
  'long-drain',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Every system the bench measures, in the order it runs them. */
export const SYSTEMS = [
  'pgmq-hybrid',
  'pgmq-event-driven',
  'pgmq-polling',
  'rabbitmq',
  'graphile-worker',
  'pg-boss',
] as const;
export type SystemId = (typeof SYSTEMS)[number];

/**
 * max_running of the bench templates' task-level limits, per tenant: bench/fair (noisy-neighbour,
 * half the handler slots of 2 workers × 10) and bench/limited (limits-cost, over
 * LIMITS_COST_TENANTS tenants: more slots than handlers, so the limit never binds). The
 * templates in scripts/bench/templates say the same (report.spec.ts checks).
 */
export const NOISY_MAX_RUNNING = 10;
export const LIMITS_COST_MAX_RUNNING = 50;
export const LIMITS_COST_TENANTS = 20;

/** Orchestration and worker processes of one Tasker configuration. */
export interface Topology {
  orchestrations: number;
  workers: number;
}

export interface BenchSettings {
  quick: boolean;
  scenarios: Scenario[];
  systems: SystemId[];
  /** Single-step tasks (jobs) submitted one at a time for submit → start latency. */
  latencySamples: number;
  /** Pause after a latency sample's handler ran, so every sample meets an idle system. */
  latencyGapMs: number;
  /** 10-step chains run one at a time for transition latency (9 transitions each). */
  chains: number;
  chainLength: number;
  /** Single-step tasks (jobs) queued before the workers start, then drained. */
  backlogSingle: number;
  /** Diamond tasks (4 steps) queued before the workers start, then drained. */
  backlogDiamonds: number;
  /** Single-step tasks of the load the chains of transition-load run beside (Tasker only). */
  loadBacklog: number;
  /** Single-step tasks of the long drain (Tasker only); scaling drains backlogSingle each. */
  longDrainTasks: number;
  /** noisy-neighbour (Tasker only): tenant A's backlog, and tenant B's tasks per phase. */
  noisyBacklog: number;
  noisySamples: number;
  /**
   * limits-cost (Tasker only): tasks of each drain; two rounds of plain and limited drains
   * (scenarios.ts, LIMITS_COST_ORDER), so each template drains four times this.
   */
  limitsCostTasks: number;
  /** Quiet time before an idle window (PostgreSQL publishes an idle backend's counts late). */
  idleSettleMs: number;
  idleWindowMs: number;
  /** The configurations the scaling scenario drains a backlogSingle with, in this order. */
  scaling: Topology[];
  /** Worker processes, and handlers each runs at once (ours and the peers' alike). */
  workers: number;
  concurrency: number;
  /** Connection pool size of every process under test. */
  poolMax: number;
  /** HTTP submissions in flight while a backlog is built. */
  submitParallelism: number;
}

const FULL = {
  latencySamples: 1000,
  chains: 200,
  backlogSingle: 20000,
  backlogDiamonds: 2500,
  loadBacklog: 40000,
  longDrainTasks: 100000,
  noisyBacklog: 10000,
  noisySamples: 50,
  limitsCostTasks: 5000,
  idleSettleMs: 12000,
  idleWindowMs: 30000,
};

const QUICK = {
  latencySamples: 40,
  chains: 4,
  backlogSingle: 300,
  backlogDiamonds: 40,
  loadBacklog: 4000,
  longDrainTasks: 2000,
  noisyBacklog: 1000,
  noisySamples: 50,
  // More than the 1,000 slots of 20 tenants, so that some tasks wait and are admitted.
  limitsCostTasks: 2000,
  idleSettleMs: 1000,
  idleWindowMs: 2000,
};

export const USAGE = `npm run bench [-- options]
  --quick                  small counts (about 13 minutes); numbers are indicative only
  --only <s1,s2>           scenarios: ${SCENARIOS.join(', ')}
  --systems <s1,s2>        systems: ${SYSTEMS.join(', ')}
  --help`;

function pickList<T extends string>(flag: string, value: string | undefined, all: readonly T[]) {
  if (!value) throw new Error(`${flag} needs a comma-separated list of: ${all.join(', ')}`);
  const picked = value.split(',').map((s) => s.trim());
  const unknown = picked.filter((p) => !(all as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new Error(`${flag}: unknown ${unknown.join(', ')}; choose from ${all.join(', ')}`);
  }
  return all.filter((s) => picked.includes(s));
}

/** The settings for `argv` (without node and the script); throws on anything unknown. */
export function parseBenchArgs(argv: readonly string[]): BenchSettings | 'help' {
  let quick = false;
  let scenarios: Scenario[] = [...SCENARIOS];
  let systems: SystemId[] = [...SYSTEMS];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--only') scenarios = pickList(arg, argv[++i], SCENARIOS);
    else if (arg === '--systems') systems = pickList(arg, argv[++i], SYSTEMS);
    else if (arg === '--help' || arg === '-h') return 'help';
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return {
    quick,
    scenarios,
    systems,
    ...(quick ? QUICK : FULL),
    latencyGapMs: 10,
    chainLength: 10,
    scaling: [
      { orchestrations: 1, workers: 2 },
      { orchestrations: 2, workers: 2 },
      { orchestrations: 1, workers: 4 },
      { orchestrations: 2, workers: 4 },
    ],
    workers: 2,
    concurrency: 10,
    poolMax: 5,
    submitParallelism: 16,
  };
}
