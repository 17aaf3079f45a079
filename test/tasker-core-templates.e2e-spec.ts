import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskTemplate } from '#core';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Templates in Tasker Core's format, registered by orchestration beside ours and run by a worker
 * on each backend: the handler's `initialization` reaches it as its config with the overrides
 * of TASKER_ENV (test) applied, the retry settings of that format drive the retries, and the
 * formats in the input schema are checked.
 */
const CONFIGURED_NAP = `
name: configured_nap
namespace_name: core_format
version: 1.0.0
description: Sleeps as configured, then succeeds on the attempt the context asks for
metadata: { author: tests, tags: [format:tasker_core] }
system_dependencies: { primary: default, secondary: [] }
domain_events: []
input_schema:
  type: object
  required: [due]
  properties:
    due: { type: string, format: date }
steps:
  - name: nap
    type: standard
    handler:
      callable: examples.sleep
      initialization: { sleepMs: 5000 }
    dependencies: []
    retry: { retryable: true, max_attempts: 3, backoff: fibonacci, backoff_base_ms: 50, max_backoff_ms: 1000 }
    timeout_seconds: 10
    publishes_events: []
  - name: wobble
    handler: { callable: examples.flaky }
    dependencies: [nap]
    retry: { retryable: true, limit: 3, backoff: linear, backoff_base_ms: 20, max_backoff_ms: 1000 }
environments:
  test:
    steps:
      - name: nap
        handler: { initialization: { sleepMs: 25 } }
  production:
    steps:
      - name: ALL
        timeout_seconds: 60
`;

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  "Tasker Core's template format over %s",
  (_label, setup) => {
    let dir: string;
    let tasker: TaskerHarness;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tasker-core-templates-'));
      await writeFile(join(dir, 'configured_nap.yaml'), CONFIGURED_NAP);
      tasker = await TaskerHarness.start({ ...setup, env: { TASKER_TEMPLATE_PATH: dir } });
    });

    afterAll(async () => {
      await tasker?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('registers the template with the overrides of TASKER_ENV applied', async () => {
      const reply = await tasker.request<TaskTemplate>(
        'GET',
        '/v1/templates/core_format/configured_nap/1.0.0',
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        format: 'tasker_core',
        environment: 'test',
        metadata: { author: 'tests' },
        steps: [
          {
            name: 'nap',
            handler: 'examples.sleep',
            kind: 'standard',
            config: { sleepMs: 25 },
            timeoutSeconds: 10,
            retry: { maxAttempts: 3, backoff: 'fibonacci', backoffBaseMs: 50 },
          },
          { name: 'wobble', retry: { maxAttempts: 3, backoff: 'linear' } },
        ],
      });
    });

    it('runs it: the handler gets its config, retries follow the template', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'core_format',
        name: 'configured_nap',
        context: { due: '2026-11-24', failTimes: 2 },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('complete');
      const steps = Object.fromEntries(task.steps.map((s) => [s.name, s]));
      expect(steps.nap).toMatchObject({ attempts: 1, result: { sleptMs: 25 } });
      expect(steps.wobble).toMatchObject({ attempts: 3, result: { succeededOnAttempt: 3 } });
    });

    it('checks the formats of the input schema', async () => {
      const before = await tasker.rowCounts();
      const reply = await tasker.request<{ message: string }>('POST', '/v1/tasks', {
        namespace: 'core_format',
        name: 'configured_nap',
        context: { due: 'next tuesday' },
      });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('/due must match format "date"');
      expect(await tasker.rowCounts()).toEqual(before);
    });
  },
);
