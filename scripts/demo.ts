// `npm run demo`: creates the database if missing, starts orchestration (which migrates) and a
// worker from the build, submits the example diamond over HTTP, prints its steps as they
// finish and the result, stops both apps and exits 0 when the task completed.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type AppProcess, startApp, waitReady } from './support/app-process.js';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tasker';
const orchestrationPort = Number(process.env.DEMO_ORCHESTRATION_PORT ?? 8080);
const workerPort = Number(process.env.DEMO_WORKER_PORT ?? 8081);
const baseUrl = `http://127.0.0.1:${orchestrationPort}`;
const apps: AppProcess[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function ensureDatabase(): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      say(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
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
  say(
    `database ${new URL(databaseUrl).host}${new URL(databaseUrl).pathname}, orchestration :${orchestrationPort}, worker :${workerPort}`,
  );
  await ensureDatabase();
  const env = { DATABASE_URL: databaseUrl };
  const orchestration = startApp('orchestration', { port: orchestrationPort, env });
  apps.push(orchestration);
  await waitReady(orchestration);
  const worker = startApp('worker', { port: workerPort, env });
  apps.push(worker);
  await waitReady(worker);
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
  // The apps stop with the demo; orchestration serves this page again once started.
  say(`dashboard: ${baseUrl}/ui/tasks/${body.taskUuid} (while npm run start:orchestration runs)`);
}

async function stopAll(): Promise<void> {
  await Promise.all(apps.map((app) => app.stop()));
}

main()
  .then(stopAll)
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(`${apps.map((app) => app.tail()).join('\n')}\n`);
    await stopAll();
    process.exit(1);
  });
