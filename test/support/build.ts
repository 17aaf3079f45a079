import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const STAMP = path.resolve('dist', '.test-run');
const LOCK = path.join(
  tmpdir(),
  `tasker-build-${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12)}.lock`,
);

/**
 * `npm run build`, once per test run (TASKER_TEST_RUN_ID, from global-setup.mjs), for the suites
 * of the parallel project that run the apps as processes from dist/: the first suite to ask
 * builds under a lock directory, the others wait for it and reuse the build.
 */
export async function ensureBuilt(): Promise<void> {
  const run = process.env.TASKER_TEST_RUN_ID;
  if (!run) throw new Error('TASKER_TEST_RUN_ID is unset: run jest with its globalSetup');
  const built = async () => (await readFile(STAMP, 'utf8').catch(() => '')) === run;
  if (await built()) return;
  await lock();
  try {
    if (await built()) return;
    await build();
    await writeFile(STAMP, run);
  } finally {
    await rmdir(LOCK);
  }
}

async function lock(): Promise<void> {
  for (;;) {
    try {
      await mkdir(LOCK);
      return;
    } catch {
      // A lock older than any build is a crashed run's.
      const since = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > 10 * 60_000) await rmdir(LOCK).catch(() => undefined);
      await sleep(500);
    }
  }
}

function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build failed:\n${output}`)),
    );
  });
}
