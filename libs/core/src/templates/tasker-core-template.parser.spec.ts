import { TemplateValidationError } from '../errors/tasker.error.js';
import { ContextValidator } from './context-validator.js';
import { parseTemplate, type TemplateParseOptions } from './template.parser.js';

const SOURCE = 'core/approvals.yaml';

/** A template in Tasker Core's format using every key it has, written for these tests. */
function approvals(): Record<string, unknown> {
  return {
    name: 'expense_approval',
    namespace_name: 'approvals',
    version: '2.1.0',
    description: 'Routes an expense by amount',
    metadata: { author: 'finance', tags: ['team:finance'], notes: 'free-form keys are kept' },
    system_dependencies: { primary: 'ledger', secondary: ['mailer'] },
    domain_events: [{ name: 'expense.routed', description: 'chosen route', schema: {} }],
    input_schema: {
      type: 'object',
      required: ['amount', 'submitter'],
      properties: {
        amount: { type: 'number' },
        submitter: { type: 'string', format: 'email' },
        spent_on: { type: 'string', format: 'date' },
      },
    },
    lifecycle: {
      max_duration_minutes: 600,
      max_waiting_for_dependencies_minutes: 90,
      max_waiting_for_retry_minutes: 45,
      max_steps_in_process_minutes: 30,
      staleness_action: 'dlq',
    },
    steps: [
      {
        name: 'check_expense',
        description: 'Checks the submission',
        handler: {
          callable: 'Approvals::CheckExpense',
          initialization: { strict: true, limits: { meals: 50 } },
        },
        system_dependency: 'ledger',
        dependencies: [],
        retry: {
          retryable: true,
          max_attempts: 4,
          backoff: 'fibonacci',
          backoff_base_ms: 200,
          max_backoff_ms: 5000,
        },
        timeout_seconds: 20,
        publishes_events: [
          {
            name: 'expense.checked',
            description: 'the expense passed its checks',
            condition: 'success',
            schema: { type: 'object' },
            delivery_mode: 'broadcast',
            publisher: 'AuditPublisher',
          },
        ],
      },
      {
        name: 'route',
        type: 'decision',
        handler: { callable: 'approvals.Route', method: 'decide', resolver: 'explicit_mapping' },
        depends_on: ['check_expense'],
        retry: { retryable: false, limit: 2, backoff: 'linear' },
      },
      {
        name: 'auto_approve',
        step_type: 'standard',
        handler: { callable: 'approvals.AutoApprove' },
        dependencies: ['route'],
        retry: { max_attempts: 0, backoff: 'none' },
      },
      {
        name: 'finalize',
        type: 'deferred_convergence',
        handler: { callable: 'approvals.Finalize' },
        dependencies: ['auto_approve'],
      },
      {
        name: 'split_receipts',
        type: 'batchable',
        handler: { callable: 'approvals.SplitReceipts' },
        dependencies: ['check_expense'],
      },
      {
        name: 'scan_receipts',
        type: 'batch_worker',
        handler: { callable: 'approvals.ScanReceipts' },
        dependencies: ['split_receipts'],
        batch_config: {
          batch_size: 25,
          parallelism: 4,
          cursor_field: 'receipt_no',
          worker_template: 'scan_receipts',
          failure_strategy: 'fail_fast',
        },
      },
    ],
    environments: {
      test: {
        steps: [
          { name: 'ALL', timeout_seconds: 5 },
          {
            name: 'check_expense',
            handler: { initialization: { strict: false } },
            retry: { max_attempts: 1 },
          },
        ],
      },
      production: { steps: [{ name: 'route', timeout_seconds: 60 }] },
    },
  };
}

function parse(raw: unknown, options: TemplateParseOptions = {}) {
  return parseTemplate(raw, SOURCE, options);
}

function problemsOf(raw: unknown, options: TemplateParseOptions = {}): string[] {
  try {
    parse(raw, options);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateValidationError);
    const e = error as TemplateValidationError;
    expect(e.source).toBe(SOURCE);
    expect(e.message.startsWith(`${SOURCE}: `)).toBe(true);
    return e.problems;
  }
  throw new Error('expected parseTemplate to throw');
}

function withStep(name: string, patch: Record<string, unknown>): Record<string, unknown> {
  const raw = approvals();
  raw.steps = (raw.steps as Record<string, unknown>[]).map((s) =>
    s.name === name ? { ...s, ...patch } : s,
  );
  return raw;
}

describe("parseTemplate with Tasker Core's format", () => {
  it('reads the template-level keys into the model', () => {
    const t = parse(approvals());
    expect(t).toMatchObject({
      format: 'tasker_core',
      namespace: 'approvals',
      name: 'expense_approval',
      version: '2.1.0',
      description: 'Routes an expense by amount',
      identityStrategy: 'strict',
      metadata: { author: 'finance', tags: ['team:finance'], notes: 'free-form keys are kept' },
      systemDependencies: { primary: 'ledger', secondary: ['mailer'] },
      domainEvents: [{ name: 'expense.routed', description: 'chosen route', schema: {} }],
      staleness: {
        maxLifetimeMinutes: 600,
        waitingForDependenciesMinutes: 90,
        waitingForRetryMinutes: 45,
        stepsInProcessMinutes: 30,
      },
      source: SOURCE,
    });
    expect(t.environment).toBeUndefined();
    expect(t.steps.map((s) => s.name)).toEqual([
      'check_expense',
      'route',
      'auto_approve',
      'finalize',
      'split_receipts',
      'scan_receipts',
    ]);
  });

  it('reads a step: handler mapping, dependencies, type, retry, events, batch config', () => {
    const steps = new Map(parse(approvals()).steps.map((s) => [s.name, s]));
    expect(steps.get('check_expense')).toEqual({
      name: 'check_expense',
      description: 'Checks the submission',
      handler: 'Approvals::CheckExpense',
      config: { strict: true, limits: { meals: 50 } },
      kind: 'standard',
      systemDependency: 'ledger',
      dependsOn: [],
      retryable: true,
      retry: {
        maxAttempts: 4,
        backoff: 'fibonacci',
        backoffBaseMs: 200,
        maxBackoffMs: 5000,
        jitter: 0.1,
      },
      timeoutSeconds: 20,
      inputs: {},
      publishesEvents: [
        {
          name: 'expense.checked',
          description: 'the expense passed its checks',
          condition: 'success',
          schema: { type: 'object' },
          delivery: 'broadcast',
          publisher: 'AuditPublisher',
        },
      ],
    });
    expect(steps.get('route')).toMatchObject({
      kind: 'decision',
      handler: 'approvals.Route',
      handlerMethod: 'decide',
      handlerResolver: 'explicit_mapping',
      dependsOn: ['check_expense'],
      retryable: false,
      // `limit` is the old name of max_attempts; Tasker Core's default cap is 30 s.
      retry: { maxAttempts: 2, backoff: 'linear', backoffBaseMs: 1000, maxBackoffMs: 30000 },
      timeoutSeconds: 30,
      config: {},
      publishesEvents: [],
    });
    // max_attempts 0 allows the first run only, as 1 does.
    expect(steps.get('auto_approve')).toMatchObject({
      kind: 'standard',
      retry: { maxAttempts: 1, backoff: 'none' },
    });
    expect(steps.get('finalize')?.kind).toBe('deferred_convergence');
    expect(steps.get('split_receipts')?.kind).toBe('batchable');
    expect(steps.get('scan_receipts')).toMatchObject({
      kind: 'batch_worker',
      batch: {
        batchSize: 25,
        parallelism: 4,
        cursorField: 'receipt_no',
        workerTemplate: 'scan_receipts',
        failureStrategy: 'fail_fast',
      },
    });
  });

  it("applies the environment's overrides by step name and ALL, in order", () => {
    const t = parse(approvals(), { environment: 'test' });
    expect(t.environment).toBe('test');
    const check = t.steps.find((s) => s.name === 'check_expense');
    // initialization is merged key by key; retry is replaced as a whole (with its defaults).
    expect(check?.config).toEqual({ strict: false, limits: { meals: 50 } });
    expect(check?.retry).toMatchObject({ maxAttempts: 1, backoff: 'exponential' });
    expect(t.steps.every((s) => s.timeoutSeconds === 5)).toBe(true);

    const production = parse(approvals(), { environment: 'production' });
    expect(production.steps.find((s) => s.name === 'route')?.timeoutSeconds).toBe(60);
    expect(production.steps.find((s) => s.name === 'check_expense')?.timeoutSeconds).toBe(20);
    // An environment the template does not mention changes nothing.
    const development = parse(approvals(), { environment: 'development' });
    expect(development.steps).toEqual(parse(approvals()).steps);
  });

  it('accepts the minimal shape with the defaults of Tasker Core', () => {
    const t = parse({
      name: 'one',
      namespace_name: 'tiny',
      version: '1.0.0',
      steps: [{ name: 'only', handler: { callable: 'Only' } }],
    });
    expect(t.inputSchema).toEqual({});
    expect(t.systemDependencies).toEqual({ primary: 'default', secondary: [] });
    expect(t.steps[0]).toMatchObject({
      kind: 'standard',
      retryable: true,
      retry: { maxAttempts: 3, backoff: 'exponential', backoffBaseMs: 1000, maxBackoffMs: 30000 },
      config: {},
    });
  });

  it('warns about keys it ignores, as Tasker Core does, and refuses misspelt ones', () => {
    const warnings: string[] = [];
    const raw = withStep('route', { lifecycle: { max_retries: 3 } });
    raw.owner = 'someone';
    parse(raw, { warnings });
    expect(warnings).toEqual([
      "unknown key 'owner' is ignored",
      "step 'route': unknown key 'lifecycle' is ignored",
    ]);

    const typo = withStep('route', { dependecies: ['check_expense'] });
    expect(problemsOf(typo)).toContain(
      "step 'route': unknown key 'dependecies' (did you mean 'dependencies'?)",
    );
  });

  it('names the step and the key of each bad value', () => {
    const problems = problemsOf(
      withStep('route', {
        type: 'branching',
        handler: 'approvals.Route',
        retry: { backoff: 'random', max_attempts: -1 },
        timeout_seconds: 0,
        publishes_events: [{ name: 'Routed', condition: 'sometimes', delivery_mode: 'carrier' }],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "step 'route': type must be one of standard, decision, deferred_convergence, batchable, batch_worker, got 'branching'",
        "step 'route': handler must be a mapping with callable, got 'approvals.Route' (write handler: {callable: approvals.Route})",
        "step 'route': retry.backoff must be one of exponential, fixed, linear, fibonacci, none, got 'random'",
        "step 'route': retry.max_attempts must be an integer >= 0, got -1",
        "step 'route': timeout_seconds must be an integer from 1 to 86400, got 0",
        "step 'route': publishes_events[0] ('Routed'): name must look like namespace.action (lower case, digits, _ and at least one dot), got 'Routed'",
        "step 'route': publishes_events[0] ('Routed'): condition must be one of success, failure, retryable_failure, permanent_failure, always, got 'sometimes'",
        "step 'route': publishes_events[0] ('Routed'): delivery_mode must be one of durable, fast, broadcast, got 'carrier'",
      ]),
    );
  });

  it('refuses contradictions and references to steps that are not there', () => {
    const raw = withStep('route', {
      dependencies: ['check_expense'],
      depends_on: ['check_expense'],
      type: 'decision',
      step_type: 'standard',
      retry: { max_attempts: 2, limit: 2 },
    });
    raw.namespace = 'approvals';
    raw.environments = { test: { steps: [{ name: 'chek_expense', timeout_seconds: 3 }] } };
    const problems = problemsOf(
      {
        ...raw,
        steps: [
          ...(raw.steps as Record<string, unknown>[]).filter((s) => s.name !== 'scan_receipts'),
          {
            name: 'scan_receipts',
            handler: { callable: 'approvals.ScanReceipts' },
            dependencies: ['split_receipts', 'missing_step'],
            batch_config: { worker_template: 'split_receipts' },
          },
        ],
      },
      { environment: 'test' },
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'namespace and namespace_name are both set: Tasker Core templates use namespace_name only',
        "step 'route': dependencies and depends_on are both set: write one",
        "step 'route': type and step_type disagree ('decision', 'standard'): write one",
        "step 'route': retry: max_attempts and limit are both set: write max_attempts",
        "environments.test: step 'chek_expense' is not a step of this template (name a step, or ALL for every step)",
        "step 'scan_receipts': batch_config.worker_template 'split_receipts' must be a step of type batch_worker, it is batchable",
      ]),
    );
    expect(problems.some((p) => p.includes('missing_step'))).toBe(true);
  });

  it('refuses lifecycle choices Tasker does not carry out', () => {
    const raw = approvals();
    raw.lifecycle = { staleness_action: 'none', auto_dlq_on_timeout: false };
    expect(problemsOf(raw)).toEqual([
      "lifecycle.staleness_action 'none' is not supported: a stale task is moved to error with a DLQ entry (staleness_action: dlq)",
      'lifecycle.auto_dlq_on_timeout false is not supported: a stale task is always moved to error with a DLQ entry',
    ]);
  });

  it('checks every format of the input schema, and refuses one no validator knows', () => {
    const t = parse(approvals());
    const validator = new ContextValidator();
    expect(
      validator.validate(t, { amount: 5, submitter: 'a@b.example', spent_on: '2026-11-02' }),
    ).toEqual([]);
    expect(
      validator.validate(t, { amount: 5, submitter: 'nobody', spent_on: '2026-13-45' }),
    ).toEqual(['/submitter must match format "email"', '/spent_on must match format "date"']);

    const raw = approvals();
    raw.input_schema = { type: 'object', properties: { code: { type: 'string', format: 'sku' } } };
    expect(problemsOf(raw)).toEqual([
      'input_schema is not a valid JSON Schema: unknown format "sku" at "#/properties/code"',
    ]);
  });
});
