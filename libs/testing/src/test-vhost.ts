import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

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

/** Runs rabbitmqctl on this machine (the broker tests use is local, as in CI). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60000 });
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
