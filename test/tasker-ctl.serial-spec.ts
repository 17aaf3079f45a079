import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import pg from 'pg';
import { loadConfigSource, parseOrchestrationConfig } from '#config';
import type {
  ConcurrencyKey,
  DlqEntryDetailView,
  DlqPage,
  DlqStats,
  PublishedEventView,
  ScheduleRunPage,
  SchedulePage,
  ScheduleView,
  StepDetailView,
  StepView,
  TaskView,
} from '#core';
import { loadMigrations, Migrator } from '#persistence';
import { createEmptyDatabase, createTestDatabase, pollUntil, type TestDatabase } from '#testing';
import { type AppProcess, freePort, startApp, waitReady } from '../scripts/support/app-process.js';
import { dailyFires } from './support/daily-fires.js';

/**
 * tasker-ctl as operators and CI run it: the built binary as a child process, against
 * orchestration and a worker running as processes from the same build (and, for `migrate`, a
 * fresh database). Asserts what it prints on stdout and stderr and its exit code, on the happy
 * paths and on every class of failure. Serial: it needs the build the serial project makes.
 */
describe('tasker-ctl', () => {
  const CLI = 'dist/apps/tasker-ctl/src/main.js';
  const API_KEY = 'cli-operator-key-0123456789';
  let database: TestDatabase;
  let orchestration: AppProcess;
  let worker: AppProcess;
  let scratch: string;

  interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
  }

  /** The CLI with only PATH and `env`: nothing from this process's environment leaks in. */
  function ctl(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, ...args],
        { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60000 },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
  }

  /** The CLI pointed at the running orchestration with a valid key. */
  const api = (args: string[], env: Record<string, string> = {}) =>
    ctl(args, { TASKER_URL: orchestration.url, TASKER_API_KEY: API_KEY, ...env });

  const json = <T>(run: Run): T => JSON.parse(run.stdout) as T;

  const getTask = async (taskUuid: string) =>
    json<TaskView>(await api(['task', 'get', taskUuid, '-o', 'json']));

  /** A task of examples/`name` created with `task create -o json`: its uuid. */
  const createTask = async (name: string, context: Record<string, unknown>) =>
    json<TaskView>(
      await api([
        'task',
        'create',
        '--namespace',
        'examples',
        '--name',
        name,
        '--context',
        JSON.stringify(context),
        '-o',
        'json',
      ]),
    ).taskUuid;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tasker-ctl-'));
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      TASKER_ENV: 'test',
      TASKER_TEMPLATE_PATH: 'config/tasks',
    };
    orchestration = startApp('orchestration', {
      port: await freePort(),
      // A short staleness interval, so the DLQ test's aged task is found at once.
      env: { ...env, TASKER_API_KEYS: `${API_KEY}:write`, TASKER_STALENESS_INTERVAL_MS: '300' },
    });
    worker = startApp('worker', { port: await freePort(), env });
    await Promise.all([waitReady(orchestration), waitReady(worker)]);
  }, 120000);

  afterAll(async () => {
    await Promise.all([orchestration?.stop(), worker?.stop()]);
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  describe('usage', () => {
    it('shows help with the exit codes, and exits 2 on a command line it cannot use', async () => {
      const help = await ctl(['--help']);
      expect(help.code).toBe(0);
      for (const group of ['config', 'migrate', 'template', 'task', 'step', 'dlq', 'schedule']) {
        expect(help.stdout).toMatch(new RegExp(`^  ${group}\\s`, 'm'));
      }
      expect(help.stdout).toContain('4  the API refused the request');

      const unknown = await ctl(['task', 'frobnicate']);
      expect(unknown).toMatchObject({ code: 2, stdout: '' });
      expect(unknown.stderr).toContain("unknown command 'frobnicate'");

      const missing = await ctl(['task', 'create', '--name', 'diamond']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("required option '--namespace <namespace>'");

      const badRef = await api(['template', 'graph', 'examples/diamond']);
      expect(badRef.code).toBe(2);
      expect(badRef.stderr).toContain('template must be namespace/name/version');
    });
  });

  describe('talking to the API', () => {
    it('exits 3 with the address when nothing listens there', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = await ctl(['task', 'list'], { TASKER_URL: url, TASKER_API_KEY: API_KEY });
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expect(run.stderr).toBe(
        `error: cannot reach the Tasker API at ${url}: connection refused ` +
          '(is orchestration running there? set --url or TASKER_URL)\n',
      );
    });

    it('exits 4 on a bad API key, with the 401 explained and the key never shown', async () => {
      const wrong = 'not-the-key-0123456789';
      const run = await ctl(['task', 'list', '--url', orchestration.url, '--api-key', wrong]);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain(
        'GET /v1/tasks answered 401 Unauthorized: the X-API-Key is not valid (set --api-key or TASKER_API_KEY)',
      );
      expect(run.stderr).not.toContain(wrong);
      const none = await ctl(['task', 'list', '--url', orchestration.url]);
      expect(none.code).toBe(4);
      expect(none.stderr).toContain('this API needs an X-API-Key header');
    });

    it('exits 4 on an unknown task, naming it', async () => {
      const unknown = '01900000-0000-7000-8000-000000000000';
      const run = await api(['task', 'get', unknown]);
      expect(run).toMatchObject({ code: 4, stdout: '' });
      expect(run.stderr).toContain(
        `answered 404 Not Found (task_not_found): task ${unknown} does not exist`,
      );
    });

    it('refuses context that is not a JSON object itself (2) and shows the 400 for context the template refuses (4)', async () => {
      const create = ['task', 'create', '--namespace', 'examples', '--name', 'diamond'];
      const broken = await api([...create, '--context', '{"n": 3']);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/^error: --context is not valid JSON/);
      const list = await api([...create, '--context', '[3]']);
      expect(list.code).toBe(2);
      expect(list.stderr).toContain('--context must be a JSON object');
      const refused = await api([...create, '--context', '{"n": "three"}']);
      expect(refused).toMatchObject({ code: 4, stdout: '' });
      expect(refused.stderr).toContain(
        'POST /v1/tasks answered 400 Bad Request (validation_failed): context does not match the input_schema of examples/diamond@1.0.0: /n must be integer',
      );
      const badPriority = await api([...create, '--context', '{}', '--priority', 'high']);
      expect(badPriority.code).toBe(2);
      expect(badPriority.stderr).toContain("option '--priority <n>' argument 'high' is invalid");
    });
  });

  describe('tasks', () => {
    it('create --wait shows each step as it changes and exits 0 once the task completed', async () => {
      const contextFile = join(scratch, 'context.json');
      await writeFile(contextFile, JSON.stringify({ n: 3 }));
      const run = await api([
        'task',
        'create',
        '--namespace',
        'examples',
        '--name',
        'diamond',
        '--context',
        `@${contextFile}`,
        '--tag',
        'cli',
        '--wait',
        '--output',
        'json',
      ]);
      expect(run.code).toBe(0);
      const task = json<TaskView>(run);
      expect(task).toMatchObject({ status: 'complete', completionPercentage: 100, tags: ['cli'] });
      expect(task.steps.find((s) => s.name === 'end')?.result).toEqual({ value: 162 });
      // Not a terminal: one line per change, on stderr, ending with the task's end.
      expect(run.stderr).toContain(`created task ${task.taskUuid} (examples/diamond@1.0.0)`);
      expect(run.stderr).toMatch(/\+\d+\.\ds step end: complete \(attempt 1\) \{"value":162\}/);
      expect(run.stderr.trimEnd()).toMatch(
        new RegExp(`task ${task.taskUuid}: complete 100% \\(4/4 steps\\)$`),
      );

      const got = await api(['task', 'get', task.taskUuid]);
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(
        /^Task\s+\S+\nTemplate\s+examples\/diamond@1\.0\.0\nStatus\s+complete/,
      );
      const steps = await api(['task', 'steps', task.taskUuid]);
      expect(steps.stdout.split('\n').map((line) => line.split(/\s+/)[0])).toEqual([
        'STEP',
        'start',
        'left',
        'right',
        'end',
        '',
      ]);
      const stepsJson = json<StepView[]>(await api(['task', 'steps', task.taskUuid, '-o', 'json']));
      expect(stepsJson.every((s) => s.state === 'complete')).toBe(true);
      const listed = json<{ items: { taskUuid: string }[] }>(
        await api(['task', 'list', '--name', 'diamond', '--status', 'complete', '-o', 'json']),
      );
      expect(listed.items.map((t) => t.taskUuid)).toContain(task.taskUuid);
    });

    it('create --wait on a terminal redraws the task and its steps in place', async () => {
      // script(1) gives the CLI a pseudo-terminal; its output is what the terminal received.
      const command = [
        process.execPath,
        CLI,
        'task create --namespace examples --name sleep --context \'{"sleepMs": 1200}\' --wait',
      ].join(' ');
      const run = await new Promise<Run>((resolve) => {
        const child = execFile(
          'script',
          ['--quiet', '--return', '--command', command, '/dev/null'],
          {
            env: {
              PATH: process.env.PATH ?? '',
              TASKER_URL: orchestration.url,
              TASKER_API_KEY: API_KEY,
            },
            timeout: 60000,
          },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      });
      expect(run.code).toBe(0);
      // The header and the one step, drawn, then moved up over and cleared on every later poll.
      expect(run.stdout).toContain('\u001b[2A\u001b[0J');
      expect(run.stdout).toMatch(/\nexamples\/sleep@1\.0\.0 {2}steps_in_process 0%/);
      expect(run.stdout).toMatch(/ {2}✔ nap {2}complete {2}attempt 1\/1/);
    });

    it('create --wait exits 1 when the task ends in error, showing the step error', async () => {
      const run = await api([
        'task',
        'create',
        '--namespace',
        'examples',
        '--name',
        'flaky',
        '--context',
        '{"permanent": true}',
        '--wait',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/Status\s+error/);
      expect(run.stdout).toMatch(
        /work\s+error\s+1\/4\s+examples\.flaky\s+-\s+error: examples\.flaky was asked to fail permanently/,
      );
      expect(run.stderr).toMatch(/error: task \S+ ended error\n$/);
    });

    it('create --wait --timeout exits 6 and leaves the task running; cancel ends it, a second cancel is a 409', async () => {
      const run = await api([
        'task',
        'create',
        '--namespace',
        'examples',
        '--name',
        'sleep',
        '--context',
        '{"sleepMs": 30000}',
        '--wait',
        '--timeout',
        '1',
        '-o',
        'json',
      ]);
      expect(run.code).toBe(6);
      const { taskUuid, status } = json<TaskView>(run);
      expect(status).toBe('steps_in_process');
      expect(run.stderr).toContain(`gave up after 1 s: task ${taskUuid} is still steps_in_process`);

      const cancelled = await api(['task', 'cancel', taskUuid, '--reason', 'cli test']);
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toMatch(/Status\s+cancelled\nCancelled steps\s+1/);
      expect(json<TaskView>(await api(['task', 'get', taskUuid, '-o', 'json']))).toMatchObject({
        status: 'cancelled',
        steps: [{ name: 'nap', state: 'cancelled' }],
      });
      const again = await api(['task', 'cancel', taskUuid]);
      expect(again.code).toBe(4);
      expect(again.stderr).toContain('answered 409 Conflict');
    });
  });

  describe('steps', () => {
    it('reset runs a failed step again, complete supplies its result, and get shows who did what', async () => {
      const failed = await api([
        'task',
        'create',
        '--namespace',
        'examples',
        '--name',
        'flaky',
        '--context',
        '{"permanent": true}',
        '--wait',
        '-o',
        'json',
      ]);
      expect(failed.code).toBe(1);
      const { taskUuid, steps } = json<TaskView>(failed);
      const work = steps.find((s) => s.name === 'work')!;
      expect(work.state).toBe('error');

      // Neither --operator nor TASKER_OPERATOR: the OS user name goes into the history.
      const me = userInfo().username;
      const reset = await api(['step', 'reset', taskUuid, 'work', '--reason', 'provider back up']);
      expect(reset.code).toBe(0);
      expect(reset.stdout).toMatch(
        new RegExp(`^Step\\s+${work.stepUuid}\\nTask\\s+${taskUuid}\\n`),
      );
      const resetLine = reset.stdout.split('\n').find((l) => l.includes('reset_for_retry'));
      expect(resetLine?.split(/\s{2,}/).slice(1)).toEqual([
        'error',
        'pending',
        me,
        'reset_for_retry: provider back up',
      ]);

      // The handler fails for good again: a reset alone does not fix it.
      const again = await pollUntil(
        async () =>
          json<StepDetailView>(await api(['step', 'get', taskUuid, 'work', '-o', 'json'])),
        (step) => step.transitions.filter((t) => t.toState === 'error').length === 2,
        { description: 'work to fail again after its reset' },
      );
      expect(again).toMatchObject({ state: 'error', attempts: 1 });
      await pollUntil(
        () => getTask(taskUuid),
        (task) => task.status === 'error',
        { description: 'the reopened task to end in error again' },
      );

      // An action that does not apply to the step's state is the API's 409: exit 4.
      const notFailed = await api(['step', 'reset', taskUuid, 'finish', '--reason', 'why not']);
      expect(notFailed).toMatchObject({ code: 4, stdout: '' });
      expect(notFailed.stderr).toContain(
        'answered 409 Conflict (conflict): reset_for_retry does not apply to a step in pending',
      );

      const resultFile = join(scratch, 'result.json');
      await writeFile(resultFile, '{"value": 7}');
      const completed = await api(
        [
          'step',
          'complete',
          taskUuid,
          work.stepUuid,
          '--reason',
          'computed by hand',
          '--result',
          `@${resultFile}`,
          '-o',
          'json',
        ],
        { TASKER_OPERATOR: 'jane@ops' },
      );
      expect(completed.code).toBe(0);
      expect(json<StepDetailView>(completed)).toMatchObject({
        state: 'complete',
        result: { value: 7 },
      });
      const done = await pollUntil(
        () => getTask(taskUuid),
        (task) => task.status === 'complete',
        { description: 'the task to complete after work was completed by hand' },
      );
      expect(done.steps.find((s) => s.name === 'finish')?.state).toBe('complete');

      const history = await api(['step', 'get', taskUuid, 'work']);
      expect(history.code).toBe(0);
      expect(history.stdout).toMatch(/^State\s+complete\nAttempts\s+1\/4\n/m);
      expect(history.stdout).toMatch(/^Result\s+\{"value":7\}$/m);
      const lines = history.stdout.trimEnd().split('\n');
      expect(
        lines
          .at(-1)
          ?.split(/\s{2,}/)
          .slice(1),
      ).toEqual(['error', 'complete', 'jane@ops', 'complete_manually: computed by hand']);
      // The task's step table shows the result given, not the error it replaced.
      expect((await api(['task', 'steps', taskUuid])).stdout).toMatch(
        /^work\s+complete\s+1\/4\s+examples\.flaky\s+-\s+\{"value":7\}$/m,
      );

      const late = await api(['step', 'resolve', taskUuid, 'work', '--reason', 'again']);
      expect(late).toMatchObject({ code: 4, stdout: '' });
      expect(late.stderr).toContain(
        `answered 409 Conflict (conflict): task ${taskUuid} ended as complete; its steps can no longer change`,
      );
    });

    it('refuses a missing or invalid --result (2) and an unknown step name (4)', async () => {
      const { taskUuid } = json<{ taskUuid: string }>(
        await api(['task', 'create', '--namespace', 'examples', '--name', 'flaky', '-o', 'json']),
      );
      const missing = await api(['step', 'complete', taskUuid, 'work', '--reason', 'r']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("required option '--result <json>' not specified");
      const broken = await api([
        'step',
        'complete',
        taskUuid,
        'work',
        '--reason',
        'r',
        '--result',
        '{',
      ]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/^error: --result is not valid JSON/);
      const unknown = await api(['step', 'get', taskUuid, 'nope']);
      expect(unknown).toMatchObject({ code: 4, stdout: '' });
      expect(unknown.stderr).toBe(
        `error: task ${taskUuid} has no step named 'nope' (its steps: work, finish)\n`,
      );
    });
  });

  describe('events', () => {
    it('publish starts the templates that trigger on the event, once per idempotency key; list and get show it', async () => {
      const args = ['event', 'publish', 'examples.number_arrived', '--payload', '{"n": 2}'];
      const first = await api([...args, '--idempotency-key', 'cli-ev-1', '-o', 'json']);
      expect(first.code).toBe(0);
      const published = json<PublishedEventView>(first);
      expect(published).toMatchObject({ outcome: 'matched', duplicate: false });
      expect(published.tasks.map((t) => `${t.namespace}/${t.name}`)).toEqual(['examples/linear']);

      const again = await api([...args, '--idempotency-key', 'cli-ev-1']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(published.eventId);
      expect(again.stderr).toContain('nothing new started');

      const listed = await api(['event', 'list', '--name', 'examples.number_arrived']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(published.eventId);
      expect(listed.stdout).toContain('examples/linear');
      const got = await api(['event', 'get', published.eventId]);
      expect(got.stdout).toContain('{"n":2}');

      const bad = await api([
        'event',
        'publish',
        'examples.number_arrived',
        '--payload',
        '{"n": "x"}',
      ]);
      expect(bad.code).toBe(4);
      expect(bad.stderr).toContain('input_schema');
      const unusable = await api([
        'event',
        'publish',
        'examples.number_arrived',
        '--payload',
        '[1]',
      ]);
      expect(unusable.code).toBe(2);
    });
  });

  describe('dlq', () => {
    it('lists and counts an empty DLQ; an unknown entry exits 4', async () => {
      const list = await api(['dlq', 'list']);
      expect(list).toMatchObject({ code: 0, stdout: '', stderr: 'no DLQ entries match\n' });
      expect(json<DlqPage>(await api(['dlq', 'list', '-o', 'json']))).toEqual({
        items: [],
        nextCursor: null,
      });
      const stats = await api(['dlq', 'stats']);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toMatch(/^Entries\s+0\nOldest pending\s+-\n/);
      expect(stats.stdout).toMatch(/^pending\s+0$/m);
      expect(stats.stdout).toMatch(/^lifetime_exceeded\s+0$/m);
      expect(json<DlqStats>(await api(['dlq', 'stats', '-o', 'json']))).toEqual({
        total: 0,
        byStatus: {},
        byReason: {},
        oldestPendingSeconds: null,
      });
      const unknown = '01900000-0000-7000-8000-000000000000';
      const get = await api(['dlq', 'get', unknown]);
      expect(get).toMatchObject({ code: 4, stdout: '' });
      expect(get.stderr).toContain(
        `GET /v1/dlq/${unknown} answered 404 Not Found (dlq_entry_not_found): DLQ entry ${unknown} does not exist`,
      );
    });

    it('shows the entry of a task past its lifetime with its snapshot, and records a resolution', async () => {
      const taskUuid = await createTask('sleep', { sleepMs: 4000 });
      await pollUntil(
        () => getTask(taskUuid),
        (task) => task.steps[0]?.state === 'in_progress',
        { description: 'nap to start' },
      );
      // Two days old, past TASKER_MAX_TASK_LIFETIME_MINUTES (a day): orchestration's own
      // staleness detection moves it to error and makes the entry.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query(
          `UPDATE tasker.tasks SET created_at = created_at - interval '2 days' WHERE task_uuid = $1`,
          [taskUuid],
        );
      } finally {
        await client.end();
      }
      const page = await pollUntil(
        async () => json<DlqPage>(await api(['dlq', 'list', '--status', 'pending', '-o', 'json'])),
        (p) => p.items.length > 0,
        { description: 'a DLQ entry for the aged task' },
      );
      expect(page.items).toEqual([
        expect.objectContaining({
          taskUuid,
          reason: 'lifetime_exceeded',
          originalState: 'steps_in_process',
          resolutionStatus: 'pending',
        }),
      ]);
      const entryUuid = page.items[0]!.dlqEntryUuid;

      const table = await api(['dlq', 'list', '--reason', 'lifetime_exceeded']);
      expect(
        table.stdout
          .split('\n')[1]
          ?.split(/\s{2,}/)
          .slice(0, 5),
      ).toEqual([entryUuid, taskUuid, 'examples/sleep', 'lifetime_exceeded', '2d']);
      const got = await api(['dlq', 'get', entryUuid]);
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^Stuck\s+2d in steps_in_process \(threshold 1440 min\)$/m);
      expect(got.stdout).toMatch(/^Context\s+\{"sleepMs":4000\}$/m);
      expect(got.stdout).toMatch(
        /\nSteps when the entry was made:\nSTEP\s+STATE\s+SINCE\s+ATTEMPTS\s+LAST ERROR\nnap\s+in_progress\s+\S+\s+1\/1\s+-\n$/,
      );
      const full = json<DlqEntryDetailView>(await api(['dlq', 'get', entryUuid, '-o', 'json']));
      expect(full.snapshot).toMatchObject({
        task: { taskUuid, context: { sleepMs: 4000 } },
        steps: [{ name: 'nap', state: 'in_progress', attempts: 1 }],
      });

      const resolved = await api([
        'dlq',
        'resolve',
        entryUuid,
        '--status',
        'manually_resolved',
        '--notes',
        'checked: nothing to redo',
        '--by',
        'sam',
      ]);
      expect(resolved.code).toBe(0);
      expect(resolved.stdout).toMatch(
        /^Resolution\s+manually_resolved\nNotes\s+checked: nothing to redo\nResolved by\s+sam\nResolved at\s+\S+\n/m,
      );
      expect(json<DlqStats>(await api(['dlq', 'stats', '-o', 'json']))).toEqual({
        total: 1,
        byStatus: { manually_resolved: 1 },
        byReason: { lifetime_exceeded: 1 },
        oldestPendingSeconds: null,
      });
      const badStatus = await api(['dlq', 'resolve', entryUuid, '--status', 'fixed']);
      expect(badStatus.code).toBe(2);
      expect(badStatus.stderr).toContain("argument 'fixed' is invalid");
    });
  });

  describe('schedules', () => {
    const create = [
      'schedule',
      'create',
      '--namespace',
      'examples',
      '--name',
      'diamond',
      '--context',
      '{"n": 2}',
      '--kind',
      'cron',
      '--timezone',
      'Europe/Berlin',
    ];

    it("refuses a bad cron expression with the API's message (exit 4)", async () => {
      const run = await api([...create, '--expression', '61 * * * *']);
      expect(run).toMatchObject({ code: 4, stdout: '' });
      expect(run.stderr).toContain(
        'POST /v1/schedules answered 400 Bad Request (validation_failed): expression is not a valid cron schedule',
      );
      expect(json<SchedulePage>(await api(['schedule', 'list', '-o', 'json'])).items).toEqual([]);
    });

    it('creates a schedule showing its next fires, then pauses, resumes, snoozes, updates, runs and deletes it', async () => {
      const before = new Date();
      const created = await api([
        ...create,
        '--expression',
        '30 2 * * *',
        '--overlap',
        'skip',
        '--description',
        'nightly',
        '-o',
        'json',
      ]);
      expect(created.code).toBe(0);
      const schedule = json<ScheduleView>(created);
      expect(schedule).toMatchObject({
        enabled: true,
        overlap: 'skip',
        version: null,
        context: { n: 2 },
      });
      expect(schedule.upcomingFires).toEqual(
        dailyFires({ hour: 2, minute: 30 }, 'Europe/Berlin', before, 5),
      );
      const id = schedule.scheduleUuid;

      const got = await api(['schedule', 'get', id]);
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^Template\s+examples\/diamond@latest$/m);
      expect(got.stdout).toMatch(/^Status\s+active$/m);
      const fires = got.stdout.trimEnd().split('UPCOMING FIRE')[1]!.split('\n').slice(1);
      // Each fire in UTC and at 02:30 Berlin time (03:30 on a spring-forward day).
      expect(fires.map((line) => line.split(/\s{2,}/)[0])).toEqual(schedule.upcomingFires);
      expect(fires.map((line) => line.split(/\s{2,}/)[1])).toEqual(
        schedule.upcomingFires.map((fire) => berlinTime(fire)),
      );
      const listed = await api(['schedule', 'list', '--name', 'diamond']);
      expect(listed.stdout).toMatch(
        new RegExp(
          `^${id}\\s+examples/diamond@latest\\s+cron\\s+30 2 \\* \\* \\*\\s+Europe/Berlin\\s+active\\s`,
          'm',
        ),
      );

      const paused = await api(['schedule', 'pause', id]);
      expect(paused.code).toBe(0);
      expect(paused.stdout).toMatch(/^Status\s+paused$/m);
      expect(paused.stdout).toContain('\n\nNo upcoming fires (paused)\n');
      const pausedOnes = json<SchedulePage>(
        await api(['schedule', 'list', '--enabled', 'false', '-o', 'json']),
      );
      expect(pausedOnes.items.map((s) => s.scheduleUuid)).toEqual([id]);
      const resumed = json<ScheduleView>(await api(['schedule', 'resume', id, '-o', 'json']));
      expect(resumed.enabled).toBe(true);
      expect(resumed.upcomingFires).toHaveLength(5);

      const snoozed = json<ScheduleView>(await api(['schedule', 'snooze', id, '-o', 'json']));
      expect(snoozed.snoozedUntil).toBe(resumed.upcomingFires[0]);
      expect(snoozed.upcomingFires[0]).toBe(resumed.upcomingFires[1]);
      const badUntil = await api(['schedule', 'snooze', id, '--until', 'tomorrow']);
      expect(badUntil.code).toBe(4);
      expect(badUntil.stderr).toContain('until must be an ISO 8601 instant');

      const updated = await api([
        'schedule',
        'update',
        id,
        '--expression',
        '15 4 * * *',
        '--misfire-grace-seconds',
        '0',
      ]);
      expect(updated.code).toBe(0);
      expect(updated.stdout).toMatch(/^Expression\s+15 4 \* \* \*$/m);
      expect(updated.stdout).toMatch(/^Misfire grace\s+0 s$/m);
      expect(updated.stdout).toMatch(/ 0[45]:15:00 GMT\+[12]$/m);
      const nothing = await api(['schedule', 'update', id]);
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain('nothing to change: give at least one of --namespace');

      const runNow = await api(['schedule', 'run-now', id]);
      expect(runNow.code).toBe(0);
      const taskUuid = new RegExp(`^created task (\\S+) from schedule ${id}\\n$`).exec(
        runNow.stdout,
      )?.[1];
      expect(taskUuid).toBeDefined();
      const task = await pollUntil(
        () => getTask(taskUuid!),
        (t) => t.status === 'complete',
        { description: 'the run-now task to complete' },
      );
      expect(task.schedule?.scheduleUuid).toBe(id);
      const runs = await api(['schedule', 'runs', id]);
      expect(runs.code).toBe(0);
      expect(runs.stdout).toMatch(
        new RegExp(`^\\S+\\s+manual\\s+created\\s+${taskUuid}\\s+complete$`, 'm'),
      );
      expect(
        json<ScheduleRunPage>(await api(['schedule', 'runs', id, '-o', 'json'])).items,
      ).toEqual([expect.objectContaining({ trigger: 'manual', outcome: 'created', taskUuid })]);

      const deleted = await api(['schedule', 'delete', id]);
      expect(deleted).toMatchObject({ code: 0, stdout: `deleted schedule ${id}\n` });
      const gone = await api(['schedule', 'get', id]);
      expect(gone).toMatchObject({ code: 4, stdout: '' });
      expect(gone.stderr).toContain(
        `404 Not Found (schedule_not_found): schedule ${id} does not exist`,
      );
      // Its tasks stay.
      expect((await getTask(taskUuid!)).status).toBe('complete');
    });
  });

  describe('templates', () => {
    it('lists the registered templates and draws a DAG as text and Mermaid', async () => {
      const list = await api(['template', 'list']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^NAMESPACE\s+NAME\s+VERSION\s+STEPS/);
      expect(list.stdout).toMatch(/examples\s+diamond\s+1\.0\.0\s+4/);

      const text = await api(['template', 'graph', 'examples/diamond/1.0.0']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('examples/diamond@1.0.0: 4 steps, 3 levels');
      expect(text.stdout).toMatch(/3\s+end\s+examples\.sum\s+left, right/);
      const mermaid = await api(['template', 'graph', 'examples/diamond/1.0.0', '-f', 'mermaid']);
      expect(mermaid.stdout).toMatch(/^flowchart TD\n/);
      expect(mermaid.stdout).toContain('  s_left --> s_end\n  s_right --> s_end');

      const unknown = await api(['template', 'graph', 'examples/nope/1.0.0']);
      expect(unknown.code).toBe(4);
      expect(unknown.stderr).toContain('no template examples/nope@1.0.0 is registered');
    });

    it('validate reports every problem of every file, with the file and the step, and exits 1', async () => {
      const dir = join(scratch, 'templates');
      await mkdir(dir);
      await writeFile(
        join(dir, 'broken.yaml'),
        [
          'namespace: examples',
          'name: broken',
          'version: 1.0',
          'stepz: []',
          'steps:',
          '  - { name: fetch, handler: examples.square, retries: 3 }',
          '  - { name: transform, depends_on: [fetch, missing] }',
          '  - { name: load, handler: examples.sum, depends_on: [publish], concurrency: { max_running: 0 } }',
          '  - { name: publish, handler: examples.sum, depends_on: [load] }',
        ].join('\n'),
      );
      await writeFile(join(dir, 'syntax.yaml'), 'namespace: examples\nsteps: [a, b\n');
      await writeFile(
        join(dir, 'good.yaml'),
        await readFile('config/tasks/examples/linear.yaml', 'utf8'),
      );
      const broken = join(dir, 'broken.yaml');
      const run = await ctl(['template', 'validate', dir]);
      expect(run.code).toBe(1);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `${broken}: unknown key 'stepz' (did you mean 'steps'?)`,
          `${broken}: version must look like 1.0.0 (major.minor.patch), got 1 (quote it, or write all three parts)`,
          `${broken}: step 'fetch': unknown key 'retries'`,
          `${broken}: step 'transform': handler is required`,
          `${broken}: step 'transform': depends on unknown step 'missing'`,
          `${broken}: cycle: load -> publish -> load`,
          `${broken}: step 'load': concurrency.max_running must be an integer from 1 to 100000, got 0`,
          `${join(dir, 'good.yaml')}: ok (examples/linear@1.0.0, 4 steps)`,
        ]),
      );
      expect(
        lines.filter((l) => l.startsWith(`${join(dir, 'syntax.yaml')}: YAML syntax error at line`)),
      ).not.toHaveLength(0);
      expect(run.stderr).toMatch(/^error: \d+ problems in 2 of 3 files\n$/);

      const asJson = json<{ valid: boolean; files: { file: string; problems: string[] }[] }>(
        await ctl(['template', 'validate', broken, '-o', 'json']),
      );
      expect(asJson.valid).toBe(false);
      expect(asJson.files[0]?.problems).toHaveLength(7);

      const examples = await ctl(['template', 'validate', 'config/tasks']);
      expect(examples.code).toBe(0);
      expect(examples.stdout.trimEnd().split('\n')).toEqual([
        'config/tasks/examples/batch_sum.yaml: ok (examples/batch_sum@1.0.0, 3 steps)',
        'config/tasks/examples/diamond.yaml: ok (examples/diamond@1.0.0, 4 steps)',
        'config/tasks/examples/flaky.yaml: ok (examples/flaky@1.0.0, 2 steps)',
        'config/tasks/examples/linear.yaml: ok (examples/linear@1.0.0, 4 steps)',
        'config/tasks/examples/per_customer.yaml: ok (examples/per_customer@1.0.0, 1 steps)',
        'config/tasks/examples/sleep.yaml: ok (examples/sleep@1.0.0, 1 steps)',
      ]);
      const missing = await ctl(['template', 'validate', join(dir, 'nope.yaml')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('nope.yaml: no such file or directory');
    });
  });

  describe('limits', () => {
    // Each task sleeps 4 s (the example's most), so acme has two tasks waiting from its first
    // run's end until its second's, a 4 s window the checks below wait for: before it three
    // wait, so a check on a loaded host cannot see a state that has just moved on.
    it('shows a key whose slot is held with its waiting tasks, then nothing once they ran', async () => {
      const submit = (customer: string) => createTask('per_customer', { customer, sleepMs: 4000 });
      const uuids = [];
      for (let i = 0; i < 4; i++) uuids.push(await submit('acme'));
      uuids.push(await submit('globex'));
      const keys = await pollUntil(
        async () => json<ConcurrencyKey[]>(await api(['limits', '-o', 'json'])),
        (items) => items.some((k) => k.key === 'acme' && k.running === 1 && k.waiting === 2),
        { description: 'acme to hold its slot with two tasks waiting', timeoutMs: 20000 },
      );
      expect(keys[0]).toMatchObject({
        limit: 'examples.per_customer',
        level: 'task',
        key: 'acme',
        maxRunning: 1,
        strategy: 'queue',
      });
      const table = await pollUntil(
        () => api(['limits', '--limit', 'examples.per_customer']),
        (out) => out.code !== 0 || / acme +1\/1 +2 /.test(out.stdout),
        { description: 'the table to show acme with two tasks waiting', timeoutMs: 10000 },
      );
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]?.split(/\s{2,}/)).toEqual([
        'LIMIT',
        'KEY',
        'RUNNING',
        'WAITING',
        'OLDEST WAIT',
        'RATE',
        'NEXT START',
        'STRATEGY',
      ]);
      expect(lines[1]?.split(/\s{2,}/).slice(0, 4)).toEqual([
        'examples.per_customer',
        'acme',
        '1/1',
        '2',
      ]);
      for (const taskUuid of uuids) {
        await pollUntil(
          () => getTask(taskUuid),
          (task) => task.status === 'complete',
          { description: `task ${taskUuid} to complete`, timeoutMs: 30000 },
        );
      }
      const none = await api(['limits']);
      expect(none.stdout).toBe('No limit has a slot held or a step waiting.\n');
      expect(json<ConcurrencyKey[]>(await api(['limits', '-o', 'json']))).toEqual([]);
    });
  });

  describe('config', () => {
    it('validate exits 1 naming each bad variable', async () => {
      const bad = await ctl(['config', 'validate', '--context', 'orchestration'], {
        DEPLOYMENT_MODE: 'often',
        TASKER_HTTP_REQUEST_TIMEOUT_MS: '5',
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(
        '  - DEPLOYMENT_MODE must be one of standard, migrate-only, no-migrate (got "often")\n',
      );
      expect(bad.stderr).toContain('  - TASKER_HTTP_REQUEST_TIMEOUT_MS must be an integer');
      const production = await ctl(['config', 'validate', '-c', 'worker', '-e', 'production']);
      expect(production.code).toBe(1);
      expect(production.stderr).toContain('DATABASE_URL is required');
      const good = await ctl(['config', 'validate', '-c', 'worker'], {
        DATABASE_URL: database.url,
      });
      expect(good).toMatchObject({
        code: 0,
        stdout: 'the worker configuration is valid (development)\n',
      });
    });

    it('generate writes a TASKER_CONFIG_PATH file without secrets that the app reads back', async () => {
      const file = join(scratch, 'orchestration.yaml');
      const secret = 'postgres://tasker:s3cret-pw@db:5432/tasker';
      const run = await ctl(
        ['config', 'generate', '-c', 'orchestration', '-e', 'production', '-o', file],
        { PORT: '9090', DATABASE_URL: secret },
      );
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^wrote \d+ variables to /);
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain('s3cret');
      expect(text).toContain('# Secrets are left out; set them in the environment at run time: ');
      const values = loadConfigSource({ TASKER_CONFIG_PATH: file });
      expect(values).not.toHaveProperty('DATABASE_URL');
      expect(parseOrchestrationConfig(values)).toMatchObject({
        env: 'production',
        port: 9090,
        deploymentMode: 'standard',
      });
      const check = await ctl(['config', 'validate', '-c', 'orchestration'], {
        TASKER_CONFIG_PATH: file,
        DATABASE_URL: secret,
      });
      expect(check).toMatchObject({
        code: 0,
        stdout: 'the orchestration configuration is valid (production)\n',
      });
    });

    it('show redacts secrets and tells where each value came from', async () => {
      const env = {
        DATABASE_URL: 'postgres://tasker:s3cret-pw@db:5432/tasker',
        TASKER_API_KEYS: 'operator-key-0123456789:write',
      };
      const table = await ctl(['config', 'show', '-c', 'orchestration'], env);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(
        /DATABASE_URL\s+postgres:\/\/tasker:\*\*\*@db:5432\/tasker\s+env/,
      );
      expect(table.stdout).toMatch(/TASKER_API_KEYS\s+\*\*\*\s+env/);
      expect(table.stdout).toMatch(/PORT\s+8080\s+default/);
      const asJson = await ctl(['config', 'show', '-c', 'orchestration', '-o', 'json'], env);
      expect(json(asJson)).toMatchObject({
        orchestration: { apiKeys: [{ key: '***', scope: 'write' }] },
        database: { url: 'postgres://tasker:***@db:5432/tasker' },
      });
      for (const run of [table, asJson]) expect(run.stdout).not.toMatch(/s3cret|operator-key/);
    });
  });

  describe('migrate', () => {
    it('shows a fresh database pending, migrates it like orchestration would, then finds it current', async () => {
      const fresh = await createEmptyDatabase();
      try {
        const env = { DATABASE_URL: fresh.url };
        const versions = (await loadMigrations()).map((m) => m.version);
        const before = await ctl(['migrate', 'status', '--check', '-o', 'json'], env);
        expect(before.code).toBe(1);
        expect(json(before)).toMatchObject({ current: false, applied: [], unknown: [] });
        expect(json<{ pending: unknown[] }>(before).pending).toHaveLength(versions.length);
        expect(before.stderr).toBe(`error: ${versions.length} migrations are pending\n`);

        const up = await ctl(['migrate', 'up'], env);
        expect(up.code).toBe(0);
        expect(up.stdout).toBe(`applied migrations ${versions.join(', ')}\n`);
        expect(up.stderr).toMatch(/^applied migration 1_\w+ in \d+ ms\n/);
        await expect(
          new Migrator({ databaseUrl: fresh.url }).assertCurrent(),
        ).resolves.toBeUndefined();

        const again = await ctl(['migrate'], env);
        expect(again).toMatchObject({
          code: 0,
          stdout: 'the schema is current: nothing to apply\n',
        });
        const after = await ctl(['migrate', 'status', '--check'], env);
        expect(after.code).toBe(0);
        const rows = after.stdout.trimEnd().split('\n').slice(1);
        expect(rows).toHaveLength(versions.length);
        (await loadMigrations()).forEach((m, i) =>
          expect(rows[i]).toMatch(new RegExp(`^${m.version}\\s+${m.name}\\s+applied$`)),
        );
      } finally {
        await fresh.drop();
      }
    });

    it('exits 3 when the database cannot be reached, without showing its password', async () => {
      const url = `postgres://tasker:s3cret-pw@127.0.0.1:${await freePort()}/tasker`;
      const run = await ctl(['migrate', 'up'], { DATABASE_URL: url, DB_MIGRATION_RETRIES: '0' });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(
        /^error: cannot reach the database at postgres:\/\/tasker:\*\*\*@127\.0\.0\.1:\d+\/tasker: .*ECONNREFUSED/m,
      );
      expect(run.stderr).not.toContain('s3cret');
    });
  });
});

/** An instant as Berlin wall time with its offset, as `schedule get` prints it (luxon's view). */
function berlinTime(iso: string): string {
  return DateTime.fromISO(iso).setZone('Europe/Berlin').toFormat("yyyy-MM-dd HH:mm:ss 'GMT'Z");
}
