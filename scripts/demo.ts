// `npm run demo`: starts orchestration (which migrates) and a worker from the build, on
// DATABASE_URL or else an embedded PostgreSQL server in .tasker/pgdata (`npm run demo -- --reset`
// wipes it first), submits the example diamond over HTTP, prints its steps as they finish and
// the result, stops the apps and the database and exits 0 when the task completed.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfigSource } from '#config';
import { type DevStack, startDevStack } from '../apps/tasker-ctl/src/dev/dev-stack.js';

const orchestrationPort = Number(process.env.DEMO_ORCHESTRATION_PORT ?? 8080);
const workerPort = Number(process.env.DEMO_WORKER_PORT ?? 8081);
const baseUrl = `http://127.0.0.1:${orchestrationPort}`;
let stack: DevStack | undefined;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface StepView {
  name: string;
  state: string;
  attempts: number;
  result: unknown;
}
interface TaskView {
  status: string;
  steps: StepView[];
}

async function main(): Promise<void> {
  say(`orchestration :${orchestrationPort}, worker :${workerPort}`);
  stack = await startDevStack({
    values: loadConfigSource(process.env),
    cwd: process.cwd(),
    reset: process.argv.includes('--reset'),
    orchestrationPort,
    workerPort,
    say,
  });
  say('orchestration and worker are ready; submitting examples/diamond with n = 3');

  const started = Date.now();
  const submitted = await fetch(`${baseUrl}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      namespace: 'examples',
      name: 'diamond',
      context: { n: 3 },
      // The template's identity is strict: a per-run key lets the demo run again and again.
      idempotencyKey: `demo-${new Date().toISOString()}`,
      initiator: 'npm run demo',
    }),
  });
  const body = (await submitted.json()) as { taskUuid?: string };
  if (submitted.status !== 201 || !body.taskUuid) {
    throw new Error(`submission answered ${submitted.status}: ${JSON.stringify(body)}`);
  }
  say(`task ${body.taskUuid} accepted`);

  const seen = new Map<string, string>();
  let task: TaskView;
  for (;;) {
    task = (await (await fetch(`${baseUrl}/v1/tasks/${body.taskUuid}`)).json()) as TaskView;
    for (const step of task.steps) {
      if (seen.get(step.name) !== step.state) {
        seen.set(step.name, step.state);
        const result = step.state === 'complete' ? ` → ${JSON.stringify(step.result)}` : '';
        say(
          `  +${String(Date.now() - started).padStart(5)} ms  ${step.name.padEnd(6)} ${step.state}${result}`,
        );
      }
    }
    if (['complete', 'error', 'cancelled', 'resolved_manually'].includes(task.status)) break;
    if (Date.now() - started > 60000) throw new Error('the task did not finish within 60 s');
    await sleep(25);
  }
  const end = task.steps.find((s) => s.name === 'end');
  say(
    `task ${task.status} in ${Date.now() - started} ms; result of end: ${JSON.stringify(end?.result)}`,
  );
  if (task.status !== 'complete') throw new Error(`task ended as ${task.status}`);
  // The apps stop with the demo; `npm run dev` serves this page again on the same database.
  say(`dashboard: ${baseUrl}/ui/tasks/${body.taskUuid} (while npm run dev runs)`);
}

main()
  .then(() => stack?.stop())
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (stack) process.stderr.write(`${stack.orchestration.tail()}\n${stack.worker.tail()}\n`);
    await stack?.stop();
    process.exit(1);
  });
