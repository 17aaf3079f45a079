// The measurements, written once against the Subject interface: the same code measures
// Tasker in every mode and the peers. Transitions under load, scaling, the long drain, the noisy
// neighbour and the cost of limits need more of a system (TaskerBenchSubject) and measure
// Tasker only.
import { setTimeout as sleep } from 'node:timers/promises';
import { type HandlerRun, monoMs } from './handler-run.js';
import { rssMiB, transactionCount, vacuumDatabase } from './infra.js';
import type { Progress } from './progress.js';
import {
  type BenchSettings,
  LIMITS_COST_MAX_RUNNING,
  LIMITS_COST_TENANTS,
  NOISY_MAX_RUNNING,
} from './settings.js';
import { completionRate, edgeRates, type Percentiles, summarize } from './stats.js';
import type {
  BatchTemplate,
  Drain,
  IdleCost,
  LimitsCost,
  LoadedTransitions,
  LongDrain,
  NoisyNeighbour,
  ScalingPoint,
  Subject,
  TaskerBenchSubject,
} from './subject.js';

/** Samples run first and thrown away: cold code paths and connection set-up. */
const WARMUP = 10;
const SAMPLE_TIMEOUT_MS = 30000;

/** How long a drain of `steps` may take: at least 25 steps/s, or it is broken rather than slow. */
const drainTimeoutMs = (steps: number) => Math.max(120000, (steps / 25) * 1000);

/** Submit (job add) → handler start, one single-step task at a time. */
export async function measureLatency(
  subject: Subject,
  settings: BenchSettings,
  progress: Progress,
): Promise<Percentiles> {
  const samples: number[] = [];
  subject.feed.reset();
  for (let i = -WARMUP; i < settings.latencySamples; i++) {
    const key = `latency${i + WARMUP}`;
    const submitted = monoMs();
    await subject.submitSingle(key);
    const [run] = await subject.feed.waitForKey(key, 1, SAMPLE_TIMEOUT_MS);
    if (i >= 0) samples.push(run!.t0 - submitted);
    progress.update(`${Math.max(0, i + 1)}/${settings.latencySamples} tasks`);
    await sleep(settings.latencyGapMs);
  }
  return summarize(samples);
}

/** Handler return → next step's handler start, in chains run one at a time. */
export async function measureTransitions(
  subject: Subject,
  settings: BenchSettings,
  progress: Progress,
): Promise<Percentiles> {
  const samples: number[] = [];
  const warmup = warmupChains(settings);
  subject.feed.reset();
  for (let c = -warmup; c < settings.chains; c++) {
    const runs = await runChain(subject, `chain${c + warmup}`, settings, SAMPLE_TIMEOUT_MS);
    if (c >= 0) samples.push(...transitionTimes(runs));
    progress.update(`${Math.max(0, c + 1)}/${settings.chains} chains`);
    await sleep(settings.latencyGapMs);
  }
  return summarize(samples);
}

const warmupChains = (settings: BenchSettings) => Math.ceil(WARMUP / (settings.chainLength - 1));

/** Submits a chain reporting `key` and waits for all its steps' handler runs. */
async function runChain(
  subject: Subject,
  key: string,
  settings: BenchSettings,
  timeoutMs: number,
): Promise<HandlerRun[]> {
  await subject.submitChain(key, settings.chainLength);
  return subject.feed.waitForKey(key, settings.chainLength, timeoutMs);
}

/** Each step's return → the next step's start, in a chain's runs. */
function transitionTimes(runs: readonly HandlerRun[]): number[] {
  const ordered = [...runs].sort((a, b) => (a.step < b.step ? -1 : 1));
  return ordered.slice(1).map((run, k) => run.t0 - ordered[k]!.t1);
}

/**
 * Tasker only. Transitions as measureTransitions takes them, while a backlog of `loadBacklog`
 * single-step tasks in the namespace bench_load drains: queued with the workers stopped, then
 * drained by workers serving both namespaces. The load has a worker queue of its own, so a
 * chain's next step does not wait behind the backlog's messages; it shares the workers' handler
 * slots, orchestration, the result queue and the database with the drain. Chains run one after
 * the other until `chains` were measured or the drain ended; a chain during which the last
 * load handler ran is not counted.
 */
export async function measureTransitionsUnderLoad(
  subject: TaskerBenchSubject,
  settings: BenchSettings,
  progress: Progress,
): Promise<LoadedTransitions> {
  const loadTasks = settings.loadBacklog;
  const batch = 'load';
  await subject.reshape({ orchestrations: 1, workers: settings.workers }, true);
  subject.feed.reset();
  await subject.queueBatch(batch, loadTasks, 'load', (done) =>
    progress.update(`queued ${done}/${loadTasks} load tasks`),
  );
  await subject.startWorkers();
  const chainKeys: string[] = [];
  const chainRuns = () => chainKeys.reduce((n, key) => n + subject.feed.runs(key).length, 0);
  const loadDone = () => subject.feed.count - chainRuns() >= loadTasks;
  const samples: number[] = [];
  let chains = 0;
  // A chain waits behind the drain's results: allow it as long as the whole drain.
  const timeoutMs = drainTimeoutMs(loadTasks);
  const warmup = warmupChains(settings);
  for (let c = -warmup; c < settings.chains && !loadDone(); c++) {
    const key = `loaded-chain${c + warmup}`;
    chainKeys.push(key);
    const runs = await runChain(subject, key, settings, timeoutMs);
    if (loadDone()) break;
    if (c >= 0) {
      samples.push(...transitionTimes(runs));
      chains += 1;
    }
    progress.update(
      `${chains}/${settings.chains} chains, ${subject.feed.count - chainRuns()}/${loadTasks} load steps`,
    );
  }
  if (chains === 0) {
    throw new Error(
      `the load of ${loadTasks} tasks drained before a measured chain finished beside it`,
    );
  }
  await subject.feed.waitForCount(loadTasks + chainRuns(), timeoutMs, () =>
    progress.update(`draining the rest: ${subject.feed.count - chainRuns()}/${loadTasks}`),
  );
  const times = await subject.completionTimes(batch, loadTasks);
  await subject.reshape({ orchestrations: 1, workers: settings.workers }, false);
  await subject.startWorkers();
  return {
    transition: summarize(samples),
    chains,
    loadTasks,
    loadStepsPerSecond: completionRate(times, 0, times.length - 1),
  };
}

/**
 * Queues `tasks` tasks of `shape` with the workers stopped, starts them and times the drain
 * from the first handler start until the last task finished.
 */
export async function measureDrain(
  subject: Subject,
  shape: 'single' | 'diamond',
  tasks: number,
  progress: Progress,
  note = '',
): Promise<Drain> {
  const steps = tasks * (shape === 'single' ? 1 : 4);
  await subject.stopWorkers();
  subject.feed.reset();
  await subject.queueBacklog(shape, tasks, (done) =>
    progress.update(`${note}queued ${done}/${tasks}`),
  );
  await subject.startWorkers();
  await subject.feed.waitForCount(steps, drainTimeoutMs(steps), () =>
    progress.update(`${note}${subject.feed.count}/${steps} steps`),
  );
  const finished = await subject.finishedAt(tasks);
  const seconds = (finished - subject.feed.firstStart) / 1000;
  return { tasks, steps, seconds, stepsPerSecond: steps / seconds };
}

/**
 * Tasker only. measureDrain of `backlogSingle` single-step tasks with each configuration of
 * `scaling` in turn (orchestration processes × worker processes); afterwards one orchestration
 * process and `workers` workers run again.
 */
export async function measureScaling(
  subject: TaskerBenchSubject,
  settings: BenchSettings,
  progress: Progress,
): Promise<ScalingPoint[]> {
  const points: ScalingPoint[] = [];
  for (const topology of settings.scaling) {
    await subject.reshape(topology, false);
    const note = `${topology.orchestrations}×${topology.workers}: `;
    const drain = await measureDrain(subject, 'single', settings.backlogSingle, progress, note);
    points.push({ ...topology, drain });
  }
  await subject.reshape({ orchestrations: 1, workers: settings.workers }, false);
  await subject.startWorkers();
  return points;
}

/**
 * Tasker only. `longDrainTasks` single-step tasks queued with the workers stopped, then
 * drained; besides the whole drain's rate (as measureDrain takes it), the rates of the first
 * and the last tenth of the completions, from the tasks' completed_at: a step must cost no
 * more with a long history behind it.
 */
export async function measureLongDrain(
  subject: TaskerBenchSubject,
  settings: BenchSettings,
  progress: Progress,
): Promise<LongDrain> {
  const { drain, times } = await drainBatch(
    subject,
    'long-drain',
    settings.longDrainTasks,
    'single',
    progress,
  );
  const { first, last } = edgeRates(times, 0.1);
  return { ...drain, firstTenthStepsPerSecond: first, lastTenthStepsPerSecond: last };
}

/**
 * Tasker only. Queues `tasks` single-step tasks of `template` under the correlation id `batch`
 * with the workers stopped, vacuums (vacuumDatabase: the drain starts without the dead rows of
 * the phases before it, as under autovacuum), starts them and times the drain as measureDrain
 * does: from the first handler start to the last completed_at. Also returns every
 * completed_at, ascending, in monotonic ms.
 */
async function drainBatch(
  subject: TaskerBenchSubject,
  batch: string,
  tasks: number,
  template: BatchTemplate,
  progress: Progress,
  note = '',
  tenantOf?: (i: number) => string,
): Promise<{ drain: Drain; times: number[]; queueSeconds: number }> {
  await subject.stopWorkers();
  subject.feed.reset();
  const queueStart = performance.now();
  await subject.queueBatch(
    batch,
    tasks,
    template,
    (done) => progress.update(`${note}queued ${done}/${tasks}`),
    tenantOf,
  );
  const queueSeconds = (performance.now() - queueStart) / 1000;
  await vacuumDatabase(subject.databaseName);
  await subject.startWorkers();
  await subject.feed.waitForCount(tasks, drainTimeoutMs(tasks), () =>
    progress.update(`${note}${subject.feed.count}/${tasks} steps`),
  );
  const times = await subject.completionTimes(batch, tasks);
  const seconds = (times[times.length - 1]! - subject.feed.firstStart) / 1000;
  return {
    drain: { tasks, steps: tasks, seconds, stepsPerSecond: tasks / seconds },
    times,
    queueSeconds,
  };
}

/**
 * Tasker only. Tenant B's tasks of bench/fair (a task-level limit of NOISY_MAX_RUNNING per
 * tenant), `noisySamples` submitted at once, on an idle system and then beside tenant A's
 * backlog of `noisyBacklog`: each B task's time from just before its POST to its completed_at.
 * A's backlog is queued with the workers stopped; B is submitted once A's drain runs, and the
 * drain is waited for to its end. A warm-up round of B (its key's first slots, the template's
 * first tasks) runs first and is not counted.
 */
export async function measureNoisyNeighbour(
  subject: TaskerBenchSubject,
  settings: BenchSettings,
  progress: Progress,
): Promise<NoisyNeighbour> {
  const backlog = settings.noisyBacklog;
  const samples = settings.noisySamples;
  const timeoutMs = drainTimeoutMs(backlog);
  await subject.reshape({ orchestrations: 1, workers: settings.workers }, false);
  await subject.startWorkers();
  subject.feed.reset();
  await sleep(1000);
  progress.update('warm-up');
  await tenantTimes(subject, 'fair-warmup', WARMUP, SAMPLE_TIMEOUT_MS);
  progress.update(`idle: ${samples} tasks of tenant B`);
  const idle = await tenantTimes(subject, 'fair-idle', samples, SAMPLE_TIMEOUT_MS);

  await subject.stopWorkers();
  subject.feed.reset();
  const backlogBatch = 'fair-a';
  await subject.queueBatch(
    backlogBatch,
    backlog,
    'fair',
    (done) => progress.update(`queued ${done}/${backlog} tasks of tenant A`),
    () => 'A',
  );
  await subject.startWorkers();
  // B meets A's drain under way, not the workers starting.
  await subject.feed.waitForCount(Math.min(100, Math.ceil(backlog / 10)), timeoutMs);
  progress.update(`noisy: ${samples} tasks of tenant B beside ${backlog} of tenant A`);
  const noisy = await tenantTimes(subject, 'fair-noisy', samples, timeoutMs);
  await subject.feed.waitForCount(backlog + samples, timeoutMs, () =>
    progress.update(`draining tenant A: ${subject.feed.count - samples}/${backlog} steps`),
  );
  const aDone = [...(await subject.completedAtByKey(backlogBatch, backlog, 120000)).values()];
  aDone.sort((a, b) => a - b);
  return {
    maxRunning: NOISY_MAX_RUNNING,
    idle: summarize(idle.times),
    noisy: summarize(noisy.times),
    backlogTasks: backlog,
    backlogStepsPerSecond: completionRate(aDone, 0, aDone.length - 1),
    backlogLeft: aDone.filter((t) => t > noisy.lastCompletedAt).length,
  };
}

/**
 * Submits `count` bench/fair tasks of tenant B under `batch` at once; each one's time from just
 * before its POST to its completed_at (both wall-clock, this machine's), in ms, and the last
 * completed_at (wall-clock ms).
 */
async function tenantTimes(
  subject: TaskerBenchSubject,
  batch: string,
  count: number,
  timeoutMs: number,
): Promise<{ times: number[]; lastCompletedAt: number }> {
  const submitted = await subject.submitAtOnce(batch, count, 'fair', 'B');
  const completed = await subject.completedAtByKey(batch, count, timeoutMs);
  const times = [...submitted].map(([key, at]) => {
    const done = completed.get(key);
    if (done === undefined) throw new Error(`task ${key} of ${batch} has no completed_at`);
    return done - at;
  });
  return { times, lastCompletedAt: Math.max(...completed.values()) };
}

/**
 * The drains of limits-cost, in two rounds: plain, limited, limited, plain, then the mirror, so
 * that a drift over the run weighs on both templates alike; the two rounds' costs show how far
 * one round's figure strays on this machine.
 */
const LIMITS_COST_ORDER = [
  ['plain', 'limited', 'limited', 'plain'],
  ['limited', 'plain', 'plain', 'limited'],
] as const;

/**
 * Tasker only. The single-step drain of `limitsCostTasks` tasks spread over LIMITS_COST_TENANTS
 * tenants, of bench/limited (a task-level limit of LIMITS_COST_MAX_RUNNING per tenant: more
 * slots than handlers, so it never holds a step back, yet every step is admitted through it) and
 * of bench/unlimited (the same template without the limit), in LIMITS_COST_ORDER. Each drain as
 * measureDrain takes it; each template's rate is its drains' steps over their seconds, the cost
 * that of all the drains, and each round's cost that of its own four.
 */
export async function measureLimitsCost(
  subject: TaskerBenchSubject,
  settings: BenchSettings,
  progress: Progress,
): Promise<LimitsCost> {
  const tasks = settings.limitsCostTasks;
  const tenantOf = (i: number) => `tenant-${i % LIMITS_COST_TENANTS}`;
  const order = LIMITS_COST_ORDER.flat();
  await subject.reshape({ orchestrations: 1, workers: settings.workers }, false);
  const drains: LimitsCost['drains'] = [];
  for (const [i, template] of order.entries()) {
    const { drain, queueSeconds } = await drainBatch(
      subject,
      `cost-${i + 1}-${template}`,
      tasks,
      template === 'plain' ? 'unlimited' : 'limited',
      progress,
      `${template} ${i + 1}/${order.length}: `,
      tenantOf,
    );
    drains.push({ template, drain, queueSeconds });
  }
  await subject.startWorkers();
  return limitsCostOf(drains, LIMITS_COST_ORDER[0].length);
}

/**
 * The cost of limits from its drains, in the order they ran, `perRound` to a round: each
 * template's rate (its drains' steps over their seconds, also with their submission's), the cost
 * over all the drains and each round's over its own.
 */
export function limitsCostOf(drains: LimitsCost['drains'], perRound: number): LimitsCost {
  const rate = (template: 'plain' | 'limited', of: LimitsCost['drains'], withQueueing = false) => {
    const its = of.filter((d) => d.template === template);
    const steps = its.reduce((n, d) => n + d.drain.steps, 0);
    const seconds = its.reduce(
      (n, d) => n + d.drain.seconds + (withQueueing ? d.queueSeconds : 0),
      0,
    );
    return { tasks: steps, steps, seconds, stepsPerSecond: steps / seconds };
  };
  const costOf = (plain: Drain, limited: Drain) =>
    ((plain.stepsPerSecond - limited.stepsPerSecond) / plain.stepsPerSecond) * 100;
  const plain = rate('plain', drains);
  const limited = rate('limited', drains);
  const rounds = Array.from({ length: Math.ceil(drains.length / perRound) }, (_, r) =>
    drains.slice(r * perRound, (r + 1) * perRound),
  );
  const submitted = { plain: rate('plain', drains, true), limited: rate('limited', drains, true) };
  return {
    tenants: LIMITS_COST_TENANTS,
    maxRunning: LIMITS_COST_MAX_RUNNING,
    drains,
    plain,
    limited,
    costPercent: costOf(plain, limited),
    roundCostPercents: rounds.map((round) => costOf(rate('plain', round), rate('limited', round))),
    withSubmission: { ...submitted, costPercent: costOf(submitted.plain, submitted.limited) },
  };
}

export async function measureRss(subject: Subject): Promise<{ process: string; mib: number }[]> {
  const sizes = await Promise.all(
    subject.processes().map(async (p) => ({ process: p.name, mib: await rssMiB(p.pid) })),
  );
  return sizes.filter((s): s is { process: string; mib: number } => s.mib !== null);
}

async function transactionsPerSecond(
  subject: Subject,
  windowMs: number,
  progress: Progress,
  what: string,
): Promise<number> {
  const before = await transactionCount(subject.databaseName);
  const started = Date.now();
  const ticker = setInterval(
    () => progress.update(`${what} ${Math.round((Date.now() - started) / 1000)} s`),
    1000,
  );
  await sleep(windowMs);
  clearInterval(ticker);
  const after = await transactionCount(subject.databaseName);
  return (after - before) / ((Date.now() - started) / 1000);
}

/**
 * Queries per second per replica with nothing to do, from the database's transaction counter
 * (every statement outside an explicit transaction is one): first with the workers running,
 * then, for Tasker, with orchestration alone, the workers' share being the difference. The
 * workers are running again afterwards.
 */
export async function measureIdle(
  subject: Subject,
  settings: BenchSettings,
  progress: Progress,
): Promise<IdleCost> {
  await subject.startWorkers();
  progress.update('settling');
  await sleep(settings.idleSettleMs);
  const all = await transactionsPerSecond(subject, settings.idleWindowMs, progress, 'all replicas');
  const windowSeconds = settings.idleWindowMs / 1000;
  if (subject.kind === 'peer') {
    return { windowSeconds, orchestration: null, worker: all / settings.workers };
  }
  await subject.stopWorkers();
  await sleep(Math.min(settings.idleSettleMs, 2000));
  const orchestration = await transactionsPerSecond(
    subject,
    settings.idleWindowMs,
    progress,
    'orchestration alone',
  );
  await subject.startWorkers();
  return {
    windowSeconds,
    orchestration,
    worker: Math.max(0, all - orchestration) / settings.workers,
  };
}
