// `npm run bench:dashboard`: how long the dashboard takes to show a task of 1,000 steps (a start
// step, 998 workers fanned out from it, an end step), measured in Debian's Chromium through
// playwright-core against orchestration and a worker run from the build on a fresh database.
// It measures and prints; it asserts no budget.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { type AppProcess, freePort, startApp, waitReady } from '../support/app-process.js';

const WORKERS = 998;
const RUNS = 5;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const apps: AppProcess[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function templateYaml(): string {
  const lines = [
    'namespace: bench_ui',
    'name: wide',
    'version: 1.0.0',
    'identity_strategy: always_unique',
    'steps:',
    '  - { name: start, handler: examples.sleep }',
  ];
  for (let i = 0; i < WORKERS; i++) {
    lines.push(`  - { name: w${i}, handler: examples.sleep, depends_on: [start] }`);
  }
  const all = Array.from({ length: WORKERS }, (_, i) => `w${i}`).join(', ');
  lines.push(`  - { name: end, handler: examples.sleep, depends_on: [${all}] }`);
  return `${lines.join('\n')}\n`;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const database = `tasker_bench_dashboard_${Date.now()}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${database}`));
  const databaseUrl = new URL(serverUrl);
  databaseUrl.pathname = `/${database}`;
  const templates = mkdtempSync(join(tmpdir(), 'tasker-bench-ui-'));
  try {
    writeFileSync(join(templates, 'wide.yaml'), templateYaml());
    const env = {
      DATABASE_URL: databaseUrl.toString(),
      TASKER_TEMPLATE_PATH: templates,
      TASKER_LOG_LEVEL: 'warn',
    };
    const orchestration = startApp('orchestration', { port: await freePort(), env });
    apps.push(orchestration);
    await waitReady(orchestration);
    const worker = startApp('worker', { port: await freePort(), env });
    apps.push(worker);
    await waitReady(worker);

    const submitted = await fetch(`${orchestration.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'bench_ui', name: 'wide', context: {} }),
    });
    const { taskUuid } = (await submitted.json()) as { taskUuid: string };
    const started = Date.now();
    for (;;) {
      const task = (await (await fetch(`${orchestration.url}/v1/tasks/${taskUuid}`)).json()) as {
        status: string;
      };
      if (task.status === 'complete') break;
      if (Date.now() - started > 300_000) throw new Error(`the task is still ${task.status}`);
      await sleep(250);
    }
    say(`task of ${WORKERS + 2} steps complete in ${Date.now() - started} ms; rendering it`);

    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'],
    });
    const timings: number[] = [];
    let nodes = 0;
    try {
      for (let run = 0; run < RUNS; run++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const t0 = performance.now();
        await page.goto(`${orchestration.url}/ui/tasks/${taskUuid}`);
        await page.locator('svg.dag g[data-step="end"][data-state="complete"]').waitFor();
        await page.locator('.waterfall rect.wf-in_progress').first().waitFor();
        timings.push(performance.now() - t0);
        nodes = await page.locator('svg.dag g[data-step]').count();
        if (run === 0) {
          mkdirSync('artifacts/dashboard', { recursive: true });
          await page.screenshot({ path: 'artifacts/dashboard/task-1000-steps.png' });
        }
        await page.close();
      }
    } finally {
      await browser.close();
    }
    timings.sort((a, b) => a - b);
    say(
      `navigation to graph and timeline drawn, ${RUNS} runs: median ${Math.round(
        timings[Math.floor(RUNS / 2)]!,
      )} ms, min ${Math.round(timings[0]!)} ms, max ${Math.round(timings.at(-1)!)} ms; ` +
        `${nodes} graph nodes (the ${WORKERS} workers folded into one)`,
    );
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    rmSync(templates, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(
    `bench:dashboard failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.stderr.write(`${apps.map((app) => app.tail()).join('\n')}\n`);
  await Promise.all(apps.map((app) => app.stop()));
  process.exit(1);
});
