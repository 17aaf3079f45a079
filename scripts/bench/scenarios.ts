// The measurements, written once against the Subject interface: the same code measures
// Tasker in every mode and the peers.
import { setTimeout as sleep } from 'node:timers/promises';
import { monoMs } from './handler-run.js';
import { rssMiB, transactionCount } from './infra.js';
import type { Progress } from './progress.js';
import type { BenchSettings } from './settings.js';
import { type Percentiles, summarize } from './stats.js';
import type { Drain, IdleCost, Subject } from './subject.js';

/** Samples run first and thrown away: cold code paths and connection set-up. */
const WARMUP = 10;
const SAMPLE_TIMEOUT_MS = 30000;

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
  const warmupChains = Math.ceil(WARMUP / (settings.chainLength - 1));
  subject.feed.reset();
  for (let c = -warmupChains; c < settings.chains; c++) {
    const key = `chain${c + warmupChains}`;
    await subject.submitChain(key, settings.chainLength);
    const runs = await subject.feed.waitForKey(key, settings.chainLength, SAMPLE_TIMEOUT_MS);
    const ordered = [...runs].sort((a, b) => (a.step < b.step ? -1 : 1));
    if (c >= 0) {
      for (let k = 1; k < ordered.length; k++) samples.push(ordered[k]!.t0 - ordered[k - 1]!.t1);
    }
    progress.update(`${Math.max(0, c + 1)}/${settings.chains} chains`);
    await sleep(settings.latencyGapMs);
  }
  return summarize(samples);
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
): Promise<Drain> {
  const steps = tasks * (shape === 'single' ? 1 : 4);
  await subject.stopWorkers();
  subject.feed.reset();
  await subject.queueBacklog(shape, tasks, (done) => progress.update(`queued ${done}/${tasks}`));
  await subject.startWorkers();
  // At least 25 steps/s, or it is broken rather than slow.
  await subject.feed.waitForCount(steps, Math.max(120000, (steps / 25) * 1000), () =>
    progress.update(`${subject.feed.count}/${steps} steps`),
  );
  const finished = await subject.finishedAt(tasks);
  const seconds = (finished - subject.feed.firstStart) / 1000;
  return { tasks, steps, seconds, stepsPerSecond: steps / seconds };
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
