import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';
import { defineHandler, PermanentStepError } from '#core';
import { pollUntil } from '#testing';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { TaskerHarness } from './support/tasker-harness.js';
import { ensureBuilt } from './support/build.js';

/** Screenshots of each view, kept by CI as artifacts (gitignored). */
const SCREENSHOTS = 'artifacts/dashboard';
const WRITE_KEY = 'operator-key-0123456789';
const READ_KEY = 'dashboard-key-0123456';
/** Browser steps wait this long for the page to show what the API has. */
const UI_TIMEOUT_MS = 20000;

/** `left` of a diamond whose context says `breakLeft` fails for good while `broken` is set. */
let broken = true;
const handlers = [
  ...EXAMPLE_HANDLERS.filter((h) => h.name !== 'examples.square'),
  defineHandler('examples.square', (ctx) => {
    if (broken && ctx.context.breakLeft === true && ctx.stepName === 'left')
      throw new PermanentStepError('left is broken until its handler is fixed');
    const parent = Object.values(ctx.dependencyResults)[0] as { value: number } | undefined;
    const x = parent?.value ?? (ctx.context.n as number);
    return { value: x * x };
  }),
];

/** One task at a time per tenant: a tenant's other tasks wait for its slot. */
const ONE_PER_TENANT = `
namespace: dash
name: one_per_tenant
version: 1.0.0
identity_strategy: always_unique
concurrency: { key: context.tenant, max_running: 1 }
steps:
  - name: hold
    handler: dash.hold
`;

/** A step under a named limit with a rate, one run at a time across tasks. */
const PARTNER_CALL = `
namespace: dash
name: partner_call
version: 1.0.0
identity_strategy: always_unique
steps:
  - name: call
    handler: dash.hold
    concurrency: { name: partner-api, max_running: 1, rate: { limit: 3, per_seconds: 1 } }
`;

/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core) against orchestration
 * and a worker serving it at /ui, the page talking only to the /v1 API.
 */
describe('the web dashboard', () => {
  let browser: Browser;

  beforeAll(async () => {
    // Tests run the apps from sources; the page they serve is built from its sources, by the
    // one build of this test run (other suites run dist/, and a second vite build would empty
    // the dashboard's folder under them).
    await ensureBuilt();
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** Pages poll the API: they are closed before the apps stop, or the apps wait on them. */
  const open: BrowserContext[] = [];
  /** Uncaught errors and CSP violations in the page fail the test that caused them. */
  const pageErrors: string[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((context) => context.close()));
    expect(pageErrors.splice(0)).toEqual([]);
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    open.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page's Content-Security-Policy must not have to block anything it does.
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
    });
    return page;
  }

  describe('with an open API', () => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({ handlers });
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    it('serves the page at /ui, its routes by the same page, and 404 for a missing file', async () => {
      for (const path of ['/ui', '/ui/', `/ui/tasks/${randomUUID()}`]) {
        const response = await fetch(`${tasker.baseUrl}${path}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/html/);
        expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
        expect(await response.text()).toContain('<div id="app">');
      }
      expect((await fetch(`${tasker.baseUrl}/ui/assets/missing.js`)).status).toBe(404);
      const escaped = await fetch(`${tasker.baseUrl}/ui/%2e%2e/package.json`);
      expect([403, 404]).toContain(escaped.status);
      expect(await escaped.text()).not.toContain('"devDependencies"');
    });

    it('finds a submitted diamond in the list and shows its four steps turn complete', async () => {
      const correlationId = `dashboard-${randomUUID()}`;
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 2 },
        correlationId,
      });
      const page = await newPage();
      await page.goto(`${tasker.baseUrl}/ui/tasks`);
      await page.getByLabel('Task UUID or correlation id').fill(correlationId);
      const row = page.locator(`tr[data-task="${taskUuid}"]`);
      await row.waitFor();
      expect(await page.locator('table.tasks tbody tr').count()).toBe(1);
      await page.screenshot({ path: `${SCREENSHOTS}/tasks.png`, fullPage: true });

      await row.getByRole('link').click();
      await page.waitForURL(`**/ui/tasks/${taskUuid}`);
      const nodes = page.locator('svg.dag g[data-step]');
      await nodes.first().waitFor();
      expect(await nodes.count()).toBe(4);
      for (const step of ['start', 'left', 'right', 'end']) {
        await page.locator(`svg.dag g[data-step="${step}"][data-state="complete"]`).waitFor();
      }
      await page.locator('h1 [data-status="complete"]').waitFor();
      await page.locator('svg.dag g[data-step="end"]').click();
      await page.locator('[data-step-panel="end"]').getByText('"value": 32').waitFor();
      await page.locator('.waterfall g[data-step="end"] rect.wf-in_progress').waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/task.png`, fullPage: true });
    });

    it('shows a permanent failure and completes the task after a reset from the page', async () => {
      broken = true;
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 3, breakLeft: true },
      });
      await tasker.waitForStatus(taskUuid, ['error']);
      const page = await newPage();
      await page.goto(`${tasker.baseUrl}/ui/tasks/${taskUuid}`);
      await page.locator('h1 [data-status="error"]').waitFor();
      // Keyboard: the node is focusable and Enter opens its panel.
      await page.locator('svg.dag g[data-step="left"][data-state="error"]').focus();
      await page.keyboard.press('Enter');
      const panel = page.locator('[data-step-panel="left"]');
      await panel
        .getByTestId('step-error')
        .getByText('left is broken until its handler is fixed')
        .waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/step-error.png`, fullPage: true });

      broken = false; // the handler is fixed
      await panel.getByRole('button', { name: 'Reset for retry' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Operator').fill('jane@ops');
      await dialog.getByLabel('Reason').fill('handler fixed');
      await page.screenshot({ path: `${SCREENSHOTS}/confirm-reset.png` });
      await dialog.getByRole('button', { name: 'Reset for retry' }).click();
      await page.getByText('Reset for retry: step left is now').waitFor();

      for (const step of ['start', 'left', 'right', 'end']) {
        await page.locator(`svg.dag g[data-step="${step}"][data-state="complete"]`).waitFor();
      }
      await page.locator('h1 [data-status="complete"]').waitFor();
      const left = (await tasker.task(taskUuid)).steps.find((s) => s.name === 'left')!;
      const history = await tasker.request<{
        transitions: { metadata: Record<string, unknown> }[];
      }>('GET', `/v1/tasks/${taskUuid}/steps/${left.stepUuid}`);
      expect(history.body.transitions.map((t) => t.metadata)).toContainEqual(
        expect.objectContaining({ operator: 'jane@ops', reason: 'handler fixed' }),
      );
    });
  });

  describe('overview, DLQ, schedules and templates', () => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({ handlers });
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    it('shows the overview, resolves a DLQ entry, pauses and runs a schedule, draws a template', async () => {
      const done = await tasker.submit({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 5 },
      });
      await tasker.waitForStatus(done, ['complete']);
      const failed = await tasker.submit({
        namespace: 'examples',
        name: 'flaky',
        context: { permanent: true },
      });
      await tasker.waitForStatus(failed, ['error']);
      // A DLQ entry as the staleness detector writes one.
      await tasker.pool.query(
        `INSERT INTO tasker.dlq_entries (task_uuid, reason, original_state, stuck_for_seconds,
                                         threshold_minutes, snapshot)
         VALUES ($1, 'stale_steps_in_process', 'steps_in_process', 3720, 60, '{"steps": []}')`,
        [failed],
      );
      const created = await tasker.request<{ scheduleUuid: string }>('POST', '/v1/schedules', {
        namespace: 'examples',
        name: 'diamond',
        context: { n: 6 },
        kind: 'cron',
        expression: '0 3 * * *',
        timezone: 'UTC',
        description: 'nightly diamond',
      });
      expect(created.status).toBe(201);

      const page = await newPage();
      await page.goto(`${tasker.baseUrl}/ui/`);
      await page
        .locator('[data-count="complete"] strong')
        .getByText('1', { exact: true })
        .waitFor();
      await page.locator('[data-count="error"] strong').getByText('1', { exact: true }).waitFor();
      await page.getByTestId('failed').getByText('1', { exact: true }).waitFor();
      await page.getByTestId('dlq-pending').getByText('1', { exact: true }).waitFor();
      await page.locator('[data-queue="worker_examples_queue"]').waitFor();
      await page.getByRole('link', { name: 'examples/diamond' }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/overview.png`, fullPage: true });

      await page
        .getByRole('navigation', { name: 'Views' })
        .getByRole('link', { name: 'DLQ' })
        .click();
      const entry = page.locator('table.dlq tbody tr[data-entry]');
      await entry.getByRole('button', { name: 'Snapshot' }).click();
      await page.getByTestId('dlq-snapshot').getByText('"steps"').waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/dlq.png`, fullPage: true });
      await entry.getByRole('button', { name: 'Resolve' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Decision').selectOption('permanently_failed');
      await dialog.getByLabel('Operator').fill('jane@ops');
      await dialog.getByLabel('Notes').fill('customer refunded');
      await dialog.getByRole('button', { name: 'Record decision' }).click();
      await page.getByText('recorded as permanently failed').waitFor();
      const { rows } = await tasker.pool.query<{ resolution_status: string; resolved_by: string }>(
        'SELECT resolution_status, resolved_by FROM tasker.dlq_entries',
      );
      expect(rows).toEqual([{ resolution_status: 'permanently_failed', resolved_by: 'jane@ops' }]);

      await page
        .getByRole('navigation', { name: 'Views' })
        .getByRole('link', { name: 'Schedules' })
        .click();
      const row = page.locator(`tr[data-schedule="${created.body.scheduleUuid}"]`);
      await row.getByText('nightly diamond').waitFor();
      await row.getByRole('button', { name: 'Pause' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
      await row.getByText('paused').waitFor();
      await row.getByRole('button', { name: 'Run now' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click();
      await page.getByText('Ran examples/diamond now: task').waitFor();
      await row.getByRole('button', { name: 'Runs' }).click();
      await page.getByRole('heading', { name: 'Recent runs' }).waitFor();
      await page.locator('td').getByText('manual', { exact: true }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/schedules.png`, fullPage: true });

      await page
        .getByRole('navigation', { name: 'Views' })
        .getByRole('link', { name: 'Templates' })
        .click();
      const diamond = page.locator('[data-template="examples/diamond"]');
      await diamond.locator('svg.dag g[data-step="end"]').waitFor();
      expect(await diamond.locator('svg.dag g[data-step]').count()).toBe(4);
      await page.screenshot({ path: `${SCREENSHOTS}/templates.png`, fullPage: true });
    });
  });

  describe('a task with many sibling steps', () => {
    let tasker: TaskerHarness;
    let templates: string;

    beforeAll(async () => {
      // The examples plus a template whose 12 workers fan out from one step.
      templates = mkdtempSync(join(tmpdir(), 'tasker-dashboard-'));
      cpSync('config/tasks', templates, { recursive: true });
      const workers = Array.from({ length: 12 }, (_, i) => `w${i}`);
      writeFileSync(
        join(templates, 'wide.yaml'),
        [
          'namespace: examples',
          'name: wide',
          'version: 1.0.0',
          'identity_strategy: always_unique',
          'steps:',
          '  - { name: start, handler: examples.sleep }',
          ...workers.map((w) => `  - { name: ${w}, handler: examples.sleep, depends_on: [start] }`),
          `  - { name: end, handler: examples.sleep, depends_on: [${workers.join(', ')}] }`,
          '',
        ].join('\n'),
      );
      tasker = await TaskerHarness.start({ handlers, env: { TASKER_TEMPLATE_PATH: templates } });
    });

    afterAll(async () => {
      await tasker?.stop();
      rmSync(templates, { recursive: true, force: true });
    });

    it('folds the workers into one node and picks any of them for the panel', async () => {
      const taskUuid = await tasker.submit({ namespace: 'examples', name: 'wide', context: {} });
      await tasker.waitForStatus(taskUuid, ['complete']);
      const page = await newPage();
      await page.goto(`${tasker.baseUrl}/ui/tasks/${taskUuid}`);
      const folded = page.locator('svg.dag g[data-step="w0 +11"][data-state="complete"]');
      await folded.getByText('12 complete').waitFor();
      expect(await page.locator('svg.dag g[data-step]').count()).toBe(3);
      await folded.click();
      const pick = page.getByLabel('Step of w0 +11 (12)');
      expect(await pick.locator('option').count()).toBe(12);
      const w7 = (await tasker.task(taskUuid)).steps.find((s) => s.name === 'w7')!;
      await pick.selectOption(w7.stepUuid);
      await page.locator('[data-step-panel="w7"]').getByText('examples.sleep').waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/folded.png`, fullPage: true });
    });
  });

  describe('concurrency limits', () => {
    let tasker: TaskerHarness;
    /** `dash.hold` runs wait until this is called, holding their limits' slots. */
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        handlers: [
          defineHandler('dash.hold', async () => {
            await held;
            return { released: true };
          }),
        ],
        templates: { 'one-per-tenant.yaml': ONE_PER_TENANT, 'partner-call.yaml': PARTNER_CALL },
      });
    });

    afterAll(async () => {
      // A failed test must not leave handlers blocking the worker's shutdown.
      release();
      await tasker?.stop();
    });

    it('lists the keys holding slots or waiting, filters them by limit, and empties when the work ends', async () => {
      const submit = (name: string, context: Record<string, unknown>) =>
        tasker.submit({ namespace: 'dash', name, context });
      const tasks = [
        await submit('one_per_tenant', { tenant: 'acme' }),
        await submit('one_per_tenant', { tenant: 'acme' }),
        await submit('one_per_tenant', { tenant: 'acme' }),
        await submit('one_per_tenant', { tenant: 'globex' }),
        await submit('partner_call', {}),
        await submit('partner_call', {}),
      ];

      const page = await newPage();
      await page.goto(`${tasker.baseUrl}/ui/`);
      await page
        .getByRole('navigation', { name: 'Views' })
        .getByRole('link', { name: 'Limits' })
        .click();
      await page.getByRole('heading', { name: 'Limits' }).waitFor();
      const rows = page.locator('table.limits tbody tr');
      const row = (limit: string, key: string) =>
        page.locator(`table.limits tbody tr[data-limit="${limit}"][data-key="${key}"]`);
      /** A row's cells by their column headers, as the page shows them. */
      const cells = async (of: Locator): Promise<Record<string, string | undefined>> => {
        const headers = await page.locator('table.limits thead th').allInnerTexts();
        const texts = await of.locator('td').allInnerTexts();
        return Object.fromEntries(headers.map((header, i) => [header, texts[i]]));
      };
      const shownWith = (of: Locator, waiting: string) =>
        pollUntil(
          () => cells(of),
          (shown) => shown.Waiting === waiting,
          { timeoutMs: UI_TIMEOUT_MS, description: `a row with ${waiting} waiting` },
        );
      const acme = row('dash.one_per_tenant', 'acme');
      const globex = row('dash.one_per_tenant', 'globex');
      const partner = row('partner-api', 'default');

      expect(await shownWith(acme, '2')).toEqual({
        Limit: 'dash.one_per_tenant',
        Level: 'task',
        Key: 'acme',
        Running: '1 / 1',
        Waiting: '2',
        'Longest wait': expect.stringMatching(/^\d+(\.\d+)? (ms|s)$/),
        Rate: '—',
        'Next start': '—',
        Strategy: 'queue',
      });
      expect(await shownWith(partner, '1')).toEqual({
        Limit: 'partner-api',
        Level: 'step',
        Key: 'default',
        Running: '1 / 1',
        Waiting: '1',
        'Longest wait': expect.stringMatching(/^\d+(\.\d+)? (ms|s)$/),
        Rate: '3 per 1 s',
        'Next start': '—',
        Strategy: 'queue',
      });
      expect(await shownWith(globex, '0')).toMatchObject({
        Running: '1 / 1',
        'Longest wait': '—',
      });
      // Busiest first: acme's 3 tasks, then the 2 partner calls, then globex's task.
      const order = await Promise.all(
        (await rows.all()).map(async (tr) => [
          await tr.getAttribute('data-limit'),
          await tr.getAttribute('data-key'),
        ]),
      );
      expect(order).toEqual([
        ['dash.one_per_tenant', 'acme'],
        ['partner-api', 'default'],
        ['dash.one_per_tenant', 'globex'],
      ]);
      await page.screenshot({ path: `${SCREENSHOTS}/limits.png`, fullPage: true });

      const filter = page.getByLabel('Limit name');
      await filter.fill('partner-api');
      await acme.waitFor({ state: 'detached' });
      expect(await rows.count()).toBe(1);
      expect(await partner.count()).toBe(1);
      await filter.fill('dash.none');
      await page
        .getByText('No key of the limit dash.none has slots held or steps waiting.')
        .waitFor();
      await filter.fill('');
      await globex.waitFor();

      release();
      for (const task of tasks) await tasker.waitForStatus(task, ['complete']);
      await page.getByText('No limit has slots held or steps waiting.').waitFor();
      expect(await page.locator('table.limits tr[data-limit]').count()).toBe(0);
    });
  });

  describe('with API keys configured', () => {
    let tasker: TaskerHarness;
    let failedTask: string;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        handlers,
        env: { TASKER_API_KEYS: `${WRITE_KEY}:write,${READ_KEY}:read` },
      });
      const submitted = await fetch(`${tasker.baseUrl}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': WRITE_KEY },
        body: JSON.stringify({
          namespace: 'examples',
          name: 'flaky',
          context: { permanent: true },
        }),
      });
      expect(submitted.status).toBe(201);
      failedTask = ((await submitted.json()) as { taskUuid: string }).taskUuid;
      const deadline = Date.now() + UI_TIMEOUT_MS;
      for (;;) {
        const reply = await fetch(`${tasker.baseUrl}/v1/tasks/${failedTask}`, {
          headers: { 'x-api-key': READ_KEY },
        });
        if (((await reply.json()) as { status: string }).status === 'error') break;
        if (Date.now() > deadline) throw new Error('the flaky task did not fail');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    it('shows no data without a key, refuses a wrong one, and refuses an action with a read key', async () => {
      const page = await newPage();
      const urls: string[] = [];
      page.on('request', (request) => urls.push(request.url()));
      await page.goto(`${tasker.baseUrl}/ui/`);
      await page.getByRole('heading', { name: 'API key needed' }).waitFor();
      expect(await page.locator('table.tasks').count()).toBe(0);
      await page.screenshot({ path: `${SCREENSHOTS}/key-needed.png` });

      await page.getByLabel('API key').fill('not-a-key-at-all-0000');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.getByText('The API refused that key.').waitFor();
      expect(await page.locator('table.tasks').count()).toBe(0);

      await page.getByLabel('API key').fill(READ_KEY);
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page
        .getByRole('navigation', { name: 'Views' })
        .getByRole('link', { name: 'Tasks' })
        .click();
      await page.locator(`tr[data-task="${failedTask}"]`).getByRole('link').click();
      await page.locator('svg.dag g[data-step="work"][data-state="error"]').click();
      await page.getByRole('button', { name: 'Reset for retry' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Operator').fill('eve');
      await dialog.getByLabel('Reason').fill('trying with a read key');
      await dialog.getByRole('button', { name: 'Reset for retry' }).click();
      await dialog.getByRole('alert').getByText('Refused: this key may only read').waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/read-key-refused.png` });
      const after = await fetch(`${tasker.baseUrl}/v1/tasks/${failedTask}`, {
        headers: { 'x-api-key': READ_KEY },
      });
      const view = (await after.json()) as { status: string; steps: { state: string }[] };
      expect(view.status).toBe('error');
      expect(view.steps.map((s) => s.state)).toContain('error');

      const keyed = urls.filter((url) => url.includes(READ_KEY) || url.includes('not-a-key'));
      expect(keyed).toEqual([]);
      expect(urls.some((url) => url.includes('/v1/tasks'))).toBe(true);
    });
  });
});
