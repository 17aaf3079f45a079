import { PgmqMessageBus, RabbitMqMessageBus } from '#messaging';
import { pollUntil } from '#testing';
import { describeSetup, MESSAGING_SETUPS, TaskerHarness } from './support/tasker-harness.js';

describe.each(MESSAGING_SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'Tasker end to end (orchestration + worker) over %s',
  (_label, setup) => {
    const { backend } = setup;
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start(setup);
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    it('runs on the backend TASKER_MESSAGING_BACKEND names', () => {
      const expected = backend === 'rabbitmq' ? RabbitMqMessageBus : PgmqMessageBus;
      expect(tasker.bus()).toBeInstanceOf(expected);
      const status = tasker.bus().status();
      expect(status.backend).toBe(backend);
      // Only RabbitMQ pushes; PGMQ consumers must be notified or poll.
      expect(status.delivery === 'push').toBe(backend === 'rabbitmq');
    });

    it('reports both apps ready, with every component they depend on', async () => {
      const ready = async (base: string) => {
        const reply = await fetch(`${base}/health/ready`);
        expect(reply.status).toBe(200);
        return ((await reply.json()) as { info: Record<string, { status: string }> }).info;
      };
      const common = {
        database: { status: 'up' },
        broker: { status: 'up', backend },
        events: { status: 'up' },
      };
      expect(await ready(tasker.baseUrl)).toMatchObject({
        ...common,
        migrations: { status: 'up' },
      });
      const worker = await ready(tasker.workerUrl);
      expect(worker).toMatchObject(common);
      expect(worker).not.toHaveProperty('migrations');
      expect((await fetch(`${tasker.workerUrl}/health/live`)).status).toBe(200);
    });

    it('details queue depths and how each app learns about messages', async () => {
      const reply = await fetch(`${tasker.workerUrl}/health/detailed`);
      expect(reply.status).toBe(200);
      const { info } = (await reply.json()) as {
        info: Record<string, Record<string, unknown>>;
      };
      expect(info.broker?.queues).toEqual({ worker_examples_queue: expect.any(Number) });
      const delivery = setup.eventMode
        ? { Hybrid: 'notify+poll', EventDrivenOnly: 'notify', PollingOnly: 'poll' }[setup.eventMode]
        : 'push';
      expect(info.events?.delivery).toBe(delivery);
      expect(info.database?.pool).toMatchObject({ total: expect.any(Number) });
      expect(info.database?.responseTime).toEqual(expect.any(Number));
    });

    it('runs the linear example to completion with each step feeding the next', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'linear',
        context: { n: 2 },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('complete');
      expect(task.completionPercentage).toBe(100);
      expect(task.completedAt).not.toBeNull();
      const values = Object.fromEntries(task.steps.map((s) => [s.name, s.result]));
      expect(values).toEqual({
        square_1: { value: 4 },
        square_2: { value: 16 },
        square_3: { value: 256 },
        square_4: { value: 65536 },
      });
      expect(task.steps.every((s) => s.attempts === 1)).toBe(true);
    });

    it('runs the diamond: both branches get the start result and end sums them', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 3 },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('complete');
      const byName = Object.fromEntries(task.steps.map((s) => [s.name, s]));
      expect(byName.start?.result).toEqual({ value: 9 });
      expect(byName.left?.result).toEqual({ value: 81 });
      expect(byName.right?.result).toEqual({ value: 81 });
      expect(byName.end?.result).toEqual({ value: 162 });
      expect(byName.end?.dependsOn).toEqual(['left', 'right']);

      // Every step went through the full lifecycle, recorded as transitions.
      const { rows } = await tasker.pool.query<{ name: string; states: string[] }>(
        `SELECT s.name, array_agg(t.to_state ORDER BY t.sort_key) AS states
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions t ON t.workflow_step_uuid = s.workflow_step_uuid
        WHERE s.task_uuid = $1 GROUP BY s.name`,
        [taskUuid],
      );
      for (const row of rows) {
        expect(row.states).toEqual([
          'pending',
          'enqueued',
          'in_progress',
          'enqueued_for_orchestration',
          'complete',
        ]);
      }
      const taskStates = await tasker.pool.query<{ to_state: string }>(
        'SELECT to_state FROM tasker.task_transitions WHERE task_uuid = $1 ORDER BY sort_key',
        [taskUuid],
      );
      const states = taskStates.rows.map((r) => r.to_state);
      expect(states.slice(0, 4)).toEqual([
        'pending',
        'initializing',
        'enqueuing_steps',
        'steps_in_process',
      ]);
      expect(states.at(-1)).toBe('complete');
      // Every step and result message was settled: none waits hidden for a redelivery (on
      // PGMQ the statements that applied them deleted them, with no ack after).
      const queues = ['worker_examples_queue', 'orchestration_step_results'];
      await pollUntil(
        async () => [...(await tasker.bus().depths(queues)).values()],
        (depths) => depths.length === 2 && depths.every((n) => n === 0),
        { description: 'empty step and result queues' },
      );
    });

    it('retries a step that fails twice, then succeeds on the third attempt', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'flaky',
        context: { failTimes: 2 },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('complete');
      const work = task.steps.find((s) => s.name === 'work');
      expect(work?.attempts).toBe(3);
      expect(work?.result).toEqual({ succeededOnAttempt: 3 });
      const { rows } = await tasker.pool.query<{ to_state: string }>(
        `SELECT t.to_state FROM tasker.workflow_step_transitions t
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = t.workflow_step_uuid
        WHERE s.task_uuid = $1 AND s.name = 'work' ORDER BY t.sort_key`,
        [taskUuid],
      );
      expect(rows.filter((r) => r.to_state === 'waiting_for_retry')).toHaveLength(2);
    });

    it('ends the task in error after a permanent failure, without retrying', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'flaky',
        context: { permanent: true },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('error');
      const work = task.steps.find((s) => s.name === 'work');
      expect(work?.state).toBe('error');
      expect(work?.attempts).toBe(1);
      expect(work?.error).toMatchObject({ permanent: true, errorClass: 'PermanentStepError' });
      expect(task.steps.find((s) => s.name === 'finish')?.state).toBe('pending');
    });

    it('ends the task in error once retries are exhausted', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'flaky',
        context: { failTimes: 10 },
      });
      const task = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(task.status).toBe('error');
      const work = task.steps.find((s) => s.name === 'work');
      expect(work?.attempts).toBe(4);
      expect(work?.state).toBe('error');
    });

    it('cancels a running task: unfinished steps are cancelled and never complete', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'sleep',
        context: { sleepMs: 1500 },
      });
      await pollUntil(
        () => tasker.task(taskUuid),
        (task) => task.steps[0]?.state === 'in_progress',
        { description: 'the nap step to be running' },
      );
      const reply = await tasker.request('DELETE', `/v1/tasks/${taskUuid}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ status: 'cancelled', cancelledSteps: 1 });
      const again = await tasker.request('DELETE', `/v1/tasks/${taskUuid}`);
      expect(again.status).toBe(409);

      // The handler finishes after the cancel (its message is then acked); its result must not
      // revive the step.
      await pollUntil(
        () => tasker.queueLength('worker_examples_queue'),
        (length) => length === 0,
        { description: 'the worker to finish the cancelled run' },
      );
      const cancelled = await tasker.task(taskUuid);
      expect(cancelled.steps[0]?.state).toBe('cancelled');
      expect(cancelled.completedAt).not.toBeNull();
      const { rows } = await tasker.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasker.workflow_step_transitions t
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = t.workflow_step_uuid
        WHERE s.task_uuid = $1 AND t.to_state = 'complete'`,
        [taskUuid],
      );
      expect(rows[0]?.n).toBe(0);
    });

    it('answers 409 for a duplicate submission under the strict identity strategy', async () => {
      const body = { namespace: 'examples', name: 'diamond', context: { n: 41 } };
      const first = await tasker.request<{ taskUuid: string }>('POST', '/v1/tasks', body);
      expect(first.status).toBe(201);
      const second = await tasker.request('POST', '/v1/tasks', { ...body, context: { n: 41 } });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({
        error: 'duplicate_task',
        details: { existingTaskUuid: first.body.taskUuid },
      });
      const keyed = { ...body, idempotencyKey: 'order-7' };
      expect((await tasker.request('POST', '/v1/tasks', keyed)).status).toBe(201);
      expect((await tasker.request('POST', '/v1/tasks', keyed)).status).toBe(409);
    });

    it('lists tasks newest first with filters and a cursor', async () => {
      const page = await tasker.request<{
        items: { taskUuid: string; name: string }[];
        nextCursor: string | null;
      }>('GET', '/v1/tasks?namespace=examples&name=diamond&limit=1');
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(1);
      expect(page.body.items[0]?.name).toBe('diamond');
      expect(page.body.nextCursor).toBe(page.body.items[0]?.taskUuid);
      const next = await tasker.request<{ items: { taskUuid: string }[] }>(
        'GET',
        `/v1/tasks?namespace=examples&name=diamond&limit=1&cursor=${page.body.nextCursor}`,
      );
      expect(next.body.items).toHaveLength(1);
      expect(next.body.items[0]!.taskUuid < page.body.items[0]!.taskUuid).toBe(true);
      expect((await tasker.request('GET', '/v1/tasks?status=nonsense')).status).toBe(400);
    });

    it('serves registered templates and the OpenAPI document', async () => {
      const list = await tasker.request<{ items: { name: string }[] }>('GET', '/v1/templates');
      expect(list.body.items.map((t) => t.name)).toEqual(
        expect.arrayContaining(['diamond', 'linear']),
      );
      const one = await tasker.request<{ steps: { name: string }[] }>(
        'GET',
        '/v1/templates/examples/diamond/1.0.0',
      );
      expect(one.body.steps.map((s) => s.name)).toEqual(['start', 'left', 'right', 'end']);
      expect((await tasker.request('GET', '/v1/templates/examples/diamond/9.9.9')).status).toBe(
        404,
      );
      const docs = await fetch(`${tasker.baseUrl}/docs-json`);
      expect(docs.status).toBe(200);
      const spec = (await docs.json()) as { paths: Record<string, unknown> };
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining(['/v1/tasks', '/v1/tasks/{taskUuid}']),
      );
    });

    it('exposes Prometheus metrics of what the earlier cases did', async () => {
      const scrape = async (base: string) => {
        const reply = await fetch(`${base}/metrics`);
        expect(reply.status).toBe(200);
        expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
        return reply.text();
      };
      /** The value of one sample, by name and exact label set as Prometheus prints it. */
      const sample = (text: string, series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      const orchestration = await scrape(tasker.baseUrl);
      expect(
        sample(orchestration, 'tasker_tasks_submitted_total{namespace="examples",name="linear"}'),
      ).toBeGreaterThanOrEqual(1);
      for (const status of ['complete', 'error', 'cancelled']) {
        expect(orchestration).toMatch(
          new RegExp(
            `^tasker_tasks_finished_total\\{namespace="examples",name="\\w+",status="${status}"\\} [1-9]`,
            'm',
          ),
        );
      }
      expect(
        sample(
          orchestration,
          'tasker_http_request_duration_seconds_count{method="POST",route="/v1/tasks",status="201"}',
        ),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample(orchestration, 'tasker_queue_depth{queue="orchestration_step_results"}'),
      ).toBeGreaterThanOrEqual(0);
      expect(sample(orchestration, 'tasker_event_source_reconnects_total')).toBe(0);
      expect(orchestration).toMatch(/^process_resident_memory_bytes \d+/m);

      const worker = await scrape(tasker.workerUrl);
      expect(
        sample(
          worker,
          'tasker_step_duration_seconds_count{handler="examples.square",outcome="success"}',
        ),
      ).toBeGreaterThanOrEqual(4);
      expect(
        sample(worker, 'tasker_step_attempts_total{handler="examples.flaky"}'),
      ).toBeGreaterThanOrEqual(3);
      expect(sample(worker, 'tasker_step_pickup_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(
        sample(worker, 'tasker_queue_depth{queue="worker_examples_queue"}'),
      ).toBeGreaterThanOrEqual(0);
    });

    describe('bad input is rejected with a useful message and writes nothing', () => {
      const cases: [string, { body?: unknown; raw?: string }, number, RegExp][] = [
        ['malformed JSON', { raw: '{"namespace": "examples", ' }, 400, /JSON|Unexpected|Expected/i],
        [
          'an unknown template',
          { body: { namespace: 'examples', name: 'nope', context: {} } },
          404,
          /examples\/nope/,
        ],
        [
          'a context not matching input_schema',
          { body: { namespace: 'examples', name: 'diamond', context: { n: 'three' } } },
          400,
          /\/n must be integer/,
        ],
        [
          'an unknown field',
          { body: { namespace: 'examples', name: 'diamond', context: { n: 1 }, colour: 'red' } },
          400,
          /property colour should not exist/,
        ],
        [
          'a missing context',
          { body: { namespace: 'examples', name: 'diamond' } },
          400,
          /context must be a JSON object/,
        ],
      ];

      it.each(cases)('%s', async (_label, input, status, message) => {
        const before = await tasker.rowCounts();
        const reply = await tasker.request('POST', '/v1/tasks', input.body, input.raw);
        expect(reply.status).toBe(status);
        expect(JSON.stringify(reply.body)).toMatch(message);
        expect(await tasker.rowCounts()).toEqual(before);
      });

      it('answers 404 for an unknown task and 400 for a malformed id', async () => {
        expect(
          (await tasker.request('GET', '/v1/tasks/0190a0b0-0000-7000-8000-000000000000')).status,
        ).toBe(404);
        expect((await tasker.request('GET', '/v1/tasks/not-a-uuid')).status).toBe(400);
      });
    });
  },
);
