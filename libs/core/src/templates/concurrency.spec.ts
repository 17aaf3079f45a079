import { TemplateValidationError, ValidationError } from '../errors/tasker.error.js';
import { concurrencyKeyOf, taskSlotsOf } from './concurrency.js';
import { parseTemplate } from './template.parser.js';

const base = (extra: Record<string, unknown> = {}, step: Record<string, unknown> = {}) => ({
  namespace: 'billing',
  name: 'charge',
  version: '1.0.0',
  ...extra,
  steps: [{ name: 'call', handler: 'billing.call', ...step }],
});

const problemsOf = (raw: unknown): string[] => {
  try {
    parseTemplate(raw, 'charge.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateValidationError);
    return (error as TemplateValidationError).problems;
  }
  throw new Error('the template parsed');
};

describe('concurrency declarations', () => {
  it('reads a task-level limit with its defaults, and a step-level one named by default', () => {
    const template = parseTemplate(
      base({ concurrency: { key: 'context.customer.id', max_running: 2 } }),
      'charge.yaml',
    );
    const shared = parseTemplate(
      base({}, { concurrency: { name: 'partner-api', rate: { limit: 100, per_seconds: 60 } } }),
      'charge.yaml',
    );
    expect(template.concurrency).toEqual({
      name: 'billing.charge',
      keyPath: ['customer', 'id'],
      defaultKey: 'default',
      maxRunning: 2,
      strategy: 'queue',
    });
    expect(shared.steps[0]!.concurrency).toEqual({
      name: 'partner-api',
      defaultKey: 'default',
      rate: { limit: 100, periodMs: 60000 },
      strategy: 'queue',
    });
    const named = parseTemplate(base({}, { concurrency: { max_running: 1 } }), 'charge.yaml');
    expect(named.steps[0]!.concurrency!.name).toBe('billing.charge.call');
  });

  it('reads the same declaration in Tasker Core’s format', () => {
    const template = parseTemplate(
      {
        name: 'charge',
        namespace_name: 'billing',
        version: '1.0.0',
        concurrency: { key: 'context.account', max_running: 3, strategy: 'cancel_newest' },
        steps: [{ name: 'call', handler: { callable: 'Billing::Call' } }],
      },
      'charge.yaml',
    );
    expect(template.concurrency).toMatchObject({
      name: 'billing.charge',
      keyPath: ['account'],
      maxRunning: 3,
      strategy: 'cancel_newest',
    });
  });

  it.each([
    [{ concurrency: 3 }, 'concurrency must be a mapping'],
    [{ concurrency: { key: 'customer_id', max_running: 1 } }, 'concurrency.key must be a path'],
    [{ concurrency: { key: 'context.a' } }, 'concurrency needs max_running, rate or both'],
    [{ concurrency: { max_running: 0 } }, 'concurrency.max_running must be an integer from 1'],
    [{ concurrency: { max_running: 1, strategy: 'drop' } }, 'concurrency.strategy must be one of'],
    [{ concurrency: { rate: { limit: 5 }, strategy: 'cancel_newest' } }, 'needs max_running'],
    [{ concurrency: { rate: { limit: 5, per_seconds: 0 } } }, 'rate.per_seconds must be'],
    [{ concurrency: { rate: { limit: 0, per_seconds: 1 } } }, 'rate.limit must be'],
    [
      { concurrency: { max_running: 1, default: 'x' } },
      'concurrency.default needs a key or fair_by',
    ],
    [{ concurrency: { max_running: 1, fair_by: 'tenant' } }, 'concurrency.fair_by must be a path'],
    [{ concurrency: { max_running: 1, name: 'Bad Name' } }, 'concurrency.name must be'],
    [{ concurrency: { max_running: 1, maxrunning: 2 } }, "unknown key 'maxrunning'"],
  ])('refuses %j', (extra, problem) => {
    expect(problemsOf(base(extra)).join('\n')).toContain(problem);
  });

  it.each(['cancel_newest', 'cancel_in_progress'])(
    'refuses %s on a step limit: it cancels tasks, and a step wait says nothing of its task',
    (strategy) => {
      // Two runs of one task under one step limit would cancel their own task; a retry of an
      // old task would be the newest waiter and cancel a newer task.
      expect(
        problemsOf(base({}, { concurrency: { max_running: 1, strategy } })).join('\n'),
      ).toContain(
        `step 'call': concurrency.strategy ${strategy} applies to task-level limits only (a step limit queues)`,
      );
    },
  );

  it('names the step of a step-level problem', () => {
    expect(problemsOf(base({}, { concurrency: { max_running: -1 } })).join('\n')).toContain(
      "step 'call': concurrency.max_running",
    );
  });

  it('refuses one name declared twice differently, or a step limit named like the task limit', () => {
    const twice = {
      ...base(),
      steps: [
        { name: 'a', handler: 'h.a', concurrency: { name: 'api', max_running: 1 } },
        { name: 'b', handler: 'h.b', concurrency: { name: 'api', max_running: 2 } },
      ],
    };
    expect(problemsOf(twice).join('\n')).toContain('declared twice with different');
    // Whether a pool's waiting steps take turns is the pool's, whichever path names the group.
    const fairOnce = {
      ...base(),
      steps: [
        { name: 'a', handler: 'h.a', concurrency: { name: 'api', max_running: 1 } },
        {
          name: 'b',
          handler: 'h.b',
          concurrency: { name: 'api', max_running: 1, fair_by: 'context.tenant' },
        },
      ],
    };
    expect(problemsOf(fairOnce).join('\n')).toContain(
      "step 'b': concurrency limit api is declared twice with different max_running, rate, strategy or fair_by",
    );
    const fairTwice = {
      ...base(),
      steps: [
        {
          name: 'a',
          handler: 'h.a',
          concurrency: { name: 'api', max_running: 1, fair_by: 'context.tenant' },
        },
        {
          name: 'b',
          handler: 'h.b',
          concurrency: { name: 'api', max_running: 1, fair_by: 'context.account.tenant' },
        },
      ],
    };
    expect(parseTemplate(fairTwice, 'charge.yaml').steps[1]!.concurrency?.fairPath).toEqual([
      'account',
      'tenant',
    ]);
    const both = base(
      { concurrency: { name: 'api', max_running: 1 } },
      { concurrency: { name: 'api', max_running: 1 } },
    );
    expect(problemsOf(both).join('\n')).toContain(
      "step 'call': concurrency limit api is the task's",
    );
    const nested = base(
      { concurrency: { key: 'context.customer', max_running: 1 } },
      { concurrency: { name: 'api', max_running: 5 } },
    );
    // A step limit of its own under the task's: the task's key, then the step's.
    const parsed = parseTemplate(nested, 'charge.yaml');
    expect(taskSlotsOf(parsed, { customer: 'c1' })).toEqual({
      task: ['billing.charge', 'c1'],
      steps: { call: ['api', 'default'] },
    });
  });
});

describe('task slots', () => {
  const template = parseTemplate(
    base({ concurrency: { key: 'context.customer', default: 'nobody', max_running: 2 } }),
    'charge.yaml',
  );
  const stepLimited = parseTemplate(
    {
      ...base(),
      steps: [
        { name: 'call', handler: 'h.call' },
        {
          name: 'notify',
          handler: 'h.notify',
          depends_on: ['call'],
          concurrency: { key: 'context.region', max_running: 5 },
        },
      ],
    },
    'charge.yaml',
  );

  it('keys a task by the value at the path: strings as they are, other values as JSON', () => {
    expect(taskSlotsOf(template, { customer: 'c-1', region: 'eu' })).toEqual({
      task: ['billing.charge', 'c-1'],
    });
    expect(taskSlotsOf(stepLimited, { customer: 'c-1', region: 'eu' })).toEqual({
      steps: { notify: ['billing.charge.notify', 'eu'] },
    });
    expect(concurrencyKeyOf(template.concurrency!, { customer: 42 })).toBe('42');
    expect(concurrencyKeyOf(template.concurrency!, { customer: { id: 1 } })).toBe('{"id":1}');
  });

  it('adds the fairness group of a fair limit, with the default when its path is absent', () => {
    const fair = parseTemplate(
      base(
        {},
        {
          concurrency: {
            name: 'partner-api',
            max_running: 10,
            fair_by: 'context.tenant.id',
            default: 'shared',
          },
        },
      ),
      'charge.yaml',
    );
    expect(fair.steps[0]!.concurrency).toMatchObject({
      fairPath: ['tenant', 'id'],
      defaultKey: 'shared',
    });
    expect(taskSlotsOf(fair, { tenant: { id: 't-7' } })).toEqual({
      steps: { call: ['partner-api', 'shared', 't-7'] },
    });
    expect(taskSlotsOf(fair, {})).toEqual({ steps: { call: ['partner-api', 'shared', 'shared'] } });
    expect(() => taskSlotsOf(fair, { tenant: { id: 'x'.repeat(201) } })).toThrow(
      /context.tenant.id is the fairness group of concurrency limit partner-api/,
    );
  });

  it('uses the default when the path is absent or null', () => {
    expect(concurrencyKeyOf(template.concurrency!, {})).toBe('nobody');
    expect(concurrencyKeyOf(template.concurrency!, { customer: null })).toBe('nobody');
  });

  it('is null for a template without limits', () => {
    expect(taskSlotsOf(parseTemplate(base(), 'charge.yaml'), { customer: 'x' })).toBeNull();
  });

  it('refuses a key longer than 200 characters, naming the path and the limit', () => {
    expect(() => taskSlotsOf(template, { customer: 'x'.repeat(201) })).toThrow(ValidationError);
    expect(() => taskSlotsOf(template, { customer: 'x'.repeat(201) })).toThrow(
      /context\.customer is the key of concurrency limit billing\.charge/,
    );
  });
});
