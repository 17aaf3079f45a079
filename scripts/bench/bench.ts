// `npm run bench [-- --quick] [-- --only …] [-- --systems …]`: measures Tasker with PGMQ in each
// event mode and with RabbitMQ, and graphile-worker and pg-boss, each on a database of its own
// on the same server, in one run; writes bench-results/ and, for a full run of everything,
// BENCHMARKS.md and BENCHMARKS.json. See BENCHMARKS.md for what is measured and how.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { postgresVersion, rabbitmqVersion } from './infra.js';
import { GraphileWorkerSubject } from './peers/graphile-worker.subject.js';
import { PgBossSubject } from './peers/pg-boss.subject.js';
import { Progress } from './progress.js';
import { type BenchReport, writeReport } from './report.js';
import {
  measureDrain,
  measureIdle,
  measureLatency,
  measureLimitsCost,
  measureLongDrain,
  measureNoisyNeighbour,
  measureRss,
  measureScaling,
  measureTransitions,
  measureTransitionsUnderLoad,
} from './scenarios.js';
import {
  type BenchSettings,
  parseBenchArgs,
  SCENARIOS,
  SYSTEMS,
  type SystemId,
  USAGE,
} from './settings.js';
import type { Subject, SystemResult } from './subject.js';
import { TaskerSubject } from './tasker/tasker.subject.js';

function createSubject(id: SystemId, settings: BenchSettings): Subject {
  switch (id) {
    case 'pgmq-hybrid':
      return new TaskerSubject(id, 'Tasker PGMQ Hybrid', 'pgmq', 'Hybrid', settings);
    case 'pgmq-event-driven':
      return new TaskerSubject(
        id,
        'Tasker PGMQ EventDrivenOnly',
        'pgmq',
        'EventDrivenOnly',
        settings,
      );
    case 'pgmq-polling':
      return new TaskerSubject(id, 'Tasker PGMQ PollingOnly', 'pgmq', 'PollingOnly', settings);
    case 'rabbitmq':
      return new TaskerSubject(id, 'Tasker RabbitMQ', 'rabbitmq', null, settings);
    case 'graphile-worker':
      return new GraphileWorkerSubject(settings);
    case 'pg-boss':
      return new PgBossSubject(settings);
  }
}

function packageVersion(name: string): string {
  const path = name === 'tasker' ? 'package.json' : `node_modules/${name}/package.json`;
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function measure(
  subject: Subject,
  settings: BenchSettings,
  progress: Progress,
  heading: string,
): Promise<SystemResult> {
  const result: SystemResult = { id: subject.id, label: subject.label, kind: subject.kind };
  const wants = (s: (typeof SCENARIOS)[number]) => settings.scenarios.includes(s);
  progress.phase(`${heading} setting up`);
  await subject.setup();
  await subject.startWorkers();
  // Idle first: later the load's tables would keep autovacuum busy in the window.
  if (wants('idle')) {
    progress.phase(`${heading} idle`);
    result.idle = await measureIdle(subject, settings, progress);
  }
  if (wants('latency')) {
    progress.phase(`${heading} submit → start`);
    result.latency = await measureLatency(subject, settings, progress);
  }
  if (wants('transition')) {
    progress.phase(`${heading} transitions`);
    result.transition = await measureTransitions(subject, settings, progress);
  }
  if (wants('throughput')) {
    progress.phase(`${heading} single-step backlog`);
    result.throughputSingle = await measureDrain(
      subject,
      'single',
      settings.backlogSingle,
      progress,
    );
    if (subject.kind === 'tasker') {
      progress.phase(`${heading} diamond backlog`);
      result.throughputDiamond = await measureDrain(
        subject,
        'diamond',
        settings.backlogDiamonds,
        progress,
      );
    }
    result.rss = await measureRss(subject);
  }
  // Tasker only, after the others so that they meet the same history as before; the long
  // drain last, as it leaves the most behind.
  if (subject instanceof TaskerSubject) {
    if (wants('transition-load')) {
      progress.phase(`${heading} transitions under load`);
      result.transitionUnderLoad = await measureTransitionsUnderLoad(subject, settings, progress);
    }
    if (wants('scaling')) {
      progress.phase(`${heading} scaling`);
      result.scaling = await measureScaling(subject, settings, progress);
    }
    if (wants('noisy-neighbour')) {
      progress.phase(`${heading} noisy neighbour`);
      result.noisyNeighbour = await measureNoisyNeighbour(subject, settings, progress);
    }
    if (wants('limits-cost')) {
      progress.phase(`${heading} limits cost`);
      result.limitsCost = await measureLimitsCost(subject, settings, progress);
    }
    if (wants('long-drain')) {
      progress.phase(`${heading} long drain`);
      result.longDrain = await measureLongDrain(subject, settings, progress);
    }
  }
  return result;
}

function summaryLine(r: SystemResult): string {
  const parts = [
    r.latency && `submit→start p50 ${r.latency.p50.toFixed(2)} ms`,
    r.transition &&
      `transition p50 ${r.transition.p50.toFixed(2)} ms p99 ${r.transition.p99.toFixed(1)} ms`,
    r.throughputSingle && `single ${Math.round(r.throughputSingle.stepsPerSecond)} steps/s`,
    r.throughputDiamond && `diamond ${Math.round(r.throughputDiamond.stepsPerSecond)} steps/s`,
    r.idle &&
      `idle ${r.idle.orchestration === null ? '' : `orch ${r.idle.orchestration.toFixed(2)} `}worker ${r.idle.worker.toFixed(2)} q/s`,
    r.transitionUnderLoad &&
      `loaded transition p50 ${r.transitionUnderLoad.transition.p50.toFixed(2)} ms p99 ${r.transitionUnderLoad.transition.p99.toFixed(1)} ms (${r.transitionUnderLoad.chains} chains, load ${Math.round(r.transitionUnderLoad.loadStepsPerSecond)} steps/s)`,
    r.scaling &&
      `scaling ${r.scaling.map((p) => `${p.orchestrations}×${p.workers} ${Math.round(p.drain.stepsPerSecond)}`).join(', ')} steps/s`,
    r.noisyNeighbour &&
      `tenant B p50 ${r.noisyNeighbour.idle.p50.toFixed(0)} → ${r.noisyNeighbour.noisy.p50.toFixed(0)} ms, p95 ${r.noisyNeighbour.idle.p95.toFixed(0)} → ${r.noisyNeighbour.noisy.p95.toFixed(0)} ms beside ${r.noisyNeighbour.backlogTasks} of A (${r.noisyNeighbour.backlogLeft} left at B's end)`,
    r.limitsCost &&
      `limits cost ${r.limitsCost.costPercent.toFixed(1)}% (${Math.round(r.limitsCost.plain.stepsPerSecond)} → ${Math.round(r.limitsCost.limited.stepsPerSecond)} steps/s)`,
    r.longDrain &&
      `long drain ${Math.round(r.longDrain.stepsPerSecond)} steps/s, first 10% ${Math.round(r.longDrain.firstTenthStepsPerSecond)}, last 10% ${Math.round(r.longDrain.lastTenthStepsPerSecond)}`,
  ].filter(Boolean);
  return `${r.label}: ${r.error ? `FAILED: ${r.error}` : parts.join(', ')}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const noteAt = args.indexOf('--note');
  const note = noteAt >= 0 ? (args.splice(noteAt, 2)[1] ?? null) : null;
  const settings = parseBenchArgs(args);
  if (settings === 'help') {
    process.stdout.write(
      `${USAGE}\n  --note <text>            a remark on the machine for the report\n`,
    );
    return 0;
  }
  const progress = new Progress();
  const started = new Date();
  const current: Subject[] = [];
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    progress.log('interrupted: stopping processes and dropping the bench databases');
    void Promise.allSettled(current.map((s) => s.teardown())).then(() => process.exit(130));
  });

  const systems: SystemResult[] = [];
  for (const [index, id] of settings.systems.entries()) {
    const subject = createSubject(id, settings);
    current.push(subject);
    const heading = `[${index + 1}/${settings.systems.length} ${subject.label}]`;
    let result: SystemResult;
    try {
      result = await measure(subject, settings, progress, heading);
    } catch (err) {
      if (interrupted) return 130;
      const message = err instanceof Error ? err.message : String(err);
      result = { id, label: subject.label, kind: subject.kind, error: message.split('\n')[0]! };
      progress.log(`${subject.label} failed: ${message}\n${subject.tails()}`);
    } finally {
      progress.phase(`${heading} tearing down`);
      await subject.teardown();
      current.pop();
    }
    systems.push(result);
    progress.log(summaryLine(result));
  }

  const report: BenchReport = {
    mode: settings.quick ? 'quick' : 'full',
    startedAt: started.toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      note,
    },
    versions: {
      tasker: `${packageVersion('tasker')} (${gitCommit()})`,
      node: process.versions.node,
      PostgreSQL: await postgresVersion(),
      RabbitMQ: await rabbitmqVersion(),
      'graphile-worker': packageVersion('graphile-worker'),
      'pg-boss': packageVersion('pg-boss'),
    },
    settings,
    systems,
  };
  const publish =
    !settings.quick &&
    settings.scenarios.length === SCENARIOS.length &&
    settings.systems.length === SYSTEMS.length &&
    systems.every((s) => !s.error);
  const { files } = await writeReport(report, publish);
  progress.log(`wrote ${files.join(', ')} in ${Math.round(report.durationSeconds)} s`);
  return systems.some((s) => s.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
