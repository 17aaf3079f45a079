import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { pollUntil } from './poll-until.js';

const run = promisify(execFile);

export interface TestVhost {
  /** RABBITMQ_URL (or the local default) pointing at the new vhost. */
  readonly url: string;
  readonly name: string;
  /** Deletes the vhost with everything in it. */
  drop(): Promise<void>;
}

/** The broker tests run against: RABBITMQ_URL, or the local default. */
export function rabbitMqBaseUrl(): string {
  return process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

/**
 * Runs rabbitmqctl on this machine (the broker tests use is local, as in CI), or inside the
 * broker's container when the test run started one (TASKER_TEST_RABBITMQ_CONTAINER, set by
 * test/support/global-setup.mjs).
 */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const container = process.env.TASKER_TEST_RABBITMQ_CONTAINER;
  const [command, argv] = container
    ? ['docker', ['exec', container, 'rabbitmqctl', ...args]]
    : ['rabbitmqctl', args];
  const { stdout } = await run(command, argv, { timeout: 60000 });
  return stdout;
}

/**
 * A fresh RabbitMQ vhost, so that test files running in parallel never share a queue (the apps
 * use fixed queue names), created with rabbitmqctl for the URL's user.
 */
export async function createTestVhost(): Promise<TestVhost> {
  const name = `tasker_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const url = new URL(rabbitMqBaseUrl());
  const user = decodeURIComponent(url.username || 'guest');
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await rabbitmqctl('delete_vhost', name);
    },
  };
}

/** The OS process id of the local RabbitMQ node's Erlang VM (rabbitmqctl is slow: ask early). */
export async function rabbitMqNodePid(): Promise<number> {
  const pid = Number((await rabbitmqctl('eval', 'os:getpid().')).trim().replaceAll('"', ''));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('could not read the RabbitMQ node pid');
  return pid;
}

/**
 * Kills the RabbitMQ node's Erlang VM (`pid`, from rabbitMqNodePid) with SIGKILL: a crash, not
 * a shutdown, nothing flushed or closed cleanly. Resolves once the process is gone.
 */
export async function killRabbitMqNode(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitForRabbitMqExit(pid);
}

/** Resolves once the node's process `pid` has exited (a stop returns before it is gone). */
export async function waitForRabbitMqExit(pid: number): Promise<void> {
  await pollUntil(
    () => {
      try {
        process.kill(pid, 0);
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    },
    (alive) => !alive,
    { timeoutMs: 30000, description: `RabbitMQ node process ${pid} to exit` },
  );
}

/** Starts the local RabbitMQ node if it is not running, or its app if only that is stopped. */
export async function startRabbitMqNode(): Promise<void> {
  const ping = () =>
    rabbitmqctl('ping').then(
      () => true,
      () => false,
    );
  if (await ping()) {
    await rabbitmqctl('start_app');
    return;
  }
  await run('rabbitmq-server', ['-detached'], { timeout: 60000 });
  await pollUntil(ping, (up) => up, {
    timeoutMs: 60000,
    intervalMs: 500,
    description: 'the RabbitMQ node to answer a ping',
  });
  await rabbitmqctl('await_startup', '--timeout', '60');
}
