import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { resetConfigSourceForTests } from '#config';
import { createTestDatabase, type TestDatabase } from '#testing';
import { createOrchestrationApp } from '../apps/orchestration/src/bootstrap/create-orchestration-app.js';
import { createWorkerApp } from '../apps/worker/src/bootstrap/create-worker-app.js';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';

/**
 * A template whose namespace is too long for the queue and channel names made from it stops
 * both apps at boot, with the limit named: it must never be accepted and then fail at run time
 * (tasks answered 201 that no worker ever hears of).
 */
describe('boot with a namespace too long for its derived names', () => {
  const namespace = 'n'.repeat(30);
  let database: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'template-limits-'));
    const linear = await readFile('config/tasks/examples/linear.yaml', 'utf8');
    await writeFile(
      join(dir, 'long.yaml'),
      linear.replace('namespace: examples', `namespace: ${namespace}`),
    );
    Object.assign(process.env, {
      TASKER_MESSAGING_BACKEND: 'pgmq',
      TASKER_EVENT_MODE: 'Hybrid',
      DATABASE_URL: database.url,
      TASKER_ENV: 'test',
      TASKER_TEMPLATE_PATH: dir,
    });
    resetConfigSourceForTests();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await database.drop();
  });

  const limit =
    `long.yaml: namespace '${namespace}' is 30 characters; at most 29 fit in the names derived ` +
    `from it (its notify channel 'tasker_message_ready.worker_${namespace}_queue' would be 64 ` +
    `bytes, over PostgreSQL's identifier limit of 63)`;

  /** The error a boot failed with; an app that did start is closed again, and fails the test. */
  async function bootError(boot: () => Promise<INestApplication>): Promise<unknown> {
    try {
      const app = await boot();
      await app.close();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  it('orchestration refuses to start, naming the limit', async () => {
    const error = await bootError(() => createOrchestrationApp({ logger: false }));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(limit);
  });

  it('a worker refuses to start, naming the limit', async () => {
    const error = await bootError(() => createWorkerApp(EXAMPLE_HANDLERS, { logger: false }));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(limit);
  });
});
