// Orchestration and worker apps as real OS processes from the build (dist/), for the demo, the
// multi-process tests and the benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type AppName = 'orchestration' | 'worker';

export interface AppProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** The last lines the process printed, for failure messages. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/** Ports freePort handed out in this process. */
const handedOut = new Set<number>();

/**
 * A TCP port nobody listens on right now, never one this process handed out before: the kernel
 * may give a released port to the next bind, and two apps of one test on one port make the
 * second fail to listen while the first answers its readiness checks (seen in CI).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface StartAppOptions {
  port: number;
  env: Record<string, string>;
  name?: string;
  /** The script to run instead of `dist/apps/<app>/src/main.js` (e.g. a worker with other handlers). */
  entry?: string;
  /** Called with every complete line the process writes to stdout. */
  onLine?: (line: string) => void;
}

/** Starts `dist/apps/<app>/src/main.js` with `env` on top of this process's environment. */
export function startApp(app: AppName, options: StartAppOptions): AppProcess {
  const name = options.name ?? app;
  const child = spawn(process.execPath, [options.entry ?? `dist/apps/${app}/src/main.js`], {
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (lines: string[]) => {
    output.push(...lines.filter(Boolean));
    if (output.length > 400) output.splice(0, output.length - 200);
  };
  const onLine = options.onLine;
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    keep(lines);
    if (onLine) for (const line of lines) onLine(line);
  });
  child.stderr?.on('data', (chunk: Buffer) => keep(chunk.toString().split('\n')));
  return {
    name,
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    child,
    tail: (lines = 40) =>
      output
        .slice(-lines)
        .map((l) => `[${name}] ${l}`)
        .join('\n'),
    stop: (graceMs = 15000) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Waits until the app answers 200 on /health/ready; fails early if it exits. */
export async function waitReady(app: AppProcess, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.child.exitCode !== null) {
      throw new Error(`${app.name} exited with code ${app.child.exitCode}\n${app.tail()}`);
    }
    try {
      if ((await fetch(`${app.url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${app.name} was not ready within ${timeoutMs} ms\n${app.tail()}`);
}
