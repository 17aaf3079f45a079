import { TemplateValidationError } from '../errors/tasker.error.js';
import { DEFAULT_RETRY_POLICY, DEFAULT_STEP_TIMEOUT_SECONDS } from './task-template.js';
import { parseTemplate } from './template.parser.js';

const SOURCE = 'examples/test.yaml';

function diamond(): Record<string, unknown> {
  return {
    namespace: 'examples',
    name: 'diamond',
    version: '1.0.0',
    input_schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    steps: [
      {
        name: 'start',
        handler: 'examples.square',
        retry: {
          max_attempts: 3,
          backoff: 'exponential',
          backoff_base_ms: 500,
          max_backoff_ms: 30000,
        },
        timeout_seconds: 30,
      },
      { name: 'left', handler: 'examples.square', depends_on: ['start'] },
      { name: 'right', handler: 'examples.square', depends_on: ['start'] },
      { name: 'end', handler: 'examples.sum', depends_on: ['left', 'right'] },
    ],
  };
}

/** The TemplateValidationError thrown by parsing `raw`; fails the test if parsing succeeds. */
function problemsOf(raw: unknown): TemplateValidationError {
  try {
    parseTemplate(raw, SOURCE);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateValidationError);
    const e = error as TemplateValidationError;
    expect(e.source).toBe(SOURCE);
    expect(e.code).toBe('template_invalid');
    expect(e.message.startsWith(`${SOURCE}: `)).toBe(true);
    for (const p of e.problems) expect(e.message).toContain(p);
    return e;
  }
  throw new Error('expected parseTemplate to throw');
}

describe('parseTemplate', () => {
  it('converts the snake_case shape and applies defaults', () => {
    const t = parseTemplate(diamond(), SOURCE);
    expect(t).toMatchObject({
      namespace: 'examples',
      name: 'diamond',
      version: '1.0.0',
      identityStrategy: 'strict',
      inputSchema: { type: 'object', required: ['n'] },
      source: SOURCE,
    });
    expect(t.description).toBeUndefined();
    const [start, left] = t.steps;
    expect(start).toEqual({
      name: 'start',
      handler: 'examples.square',
      dependsOn: [],
      retryable: true,
      retry: {
        maxAttempts: 3,
        backoff: 'exponential',
        backoffBaseMs: 500,
        maxBackoffMs: 30000,
        jitter: DEFAULT_RETRY_POLICY.jitter,
      },
      timeoutSeconds: 30,
      inputs: {},
    });
    expect(left).toEqual({
      name: 'left',
      handler: 'examples.square',
      dependsOn: ['start'],
      retryable: true,
      retry: DEFAULT_RETRY_POLICY,
      timeoutSeconds: DEFAULT_STEP_TIMEOUT_SECONDS,
      inputs: {},
    });
    expect(left?.retry).not.toBe(DEFAULT_RETRY_POLICY);
  });

  it('defaults input_schema to {} and reads the optional keys', () => {
    const t = parseTemplate(
      {
        namespace: 'ns',
        name: 'n1',
        version: '2.10.3',
        description: 'hello',
        identity_strategy: 'always_unique',
        steps: [
          {
            name: 'only',
            handler: 'Some-handler.v2_x',
            retryable: false,
            retry: { backoff: 'fixed', jitter: 0 },
            timeout_seconds: 86400,
            inputs: { url: 'https://example.test', n: [1, 2] },
          },
        ],
      },
      SOURCE,
    );
    expect(t.inputSchema).toEqual({});
    expect(t.description).toBe('hello');
    expect(t.identityStrategy).toBe('always_unique');
    expect(t.steps[0]).toMatchObject({
      handler: 'Some-handler.v2_x',
      retryable: false,
      retry: { ...DEFAULT_RETRY_POLICY, backoff: 'fixed', jitter: 0 },
      timeoutSeconds: 86400,
      inputs: { url: 'https://example.test', n: [1, 2] },
    });
  });

  it('outputs steps in topological order, keeping file order among independent steps', () => {
    const raw = diamond();
    raw.steps = [
      { name: 'end', handler: 'examples.sum', depends_on: ['left', 'right'] },
      { name: 'right', handler: 'examples.square', depends_on: ['start'] },
      { name: 'left', handler: 'examples.square', depends_on: ['start'] },
      { name: 'start', handler: 'examples.square' },
    ];
    expect(parseTemplate(raw, SOURCE).steps.map((s) => s.name)).toEqual([
      'start',
      'right',
      'left',
      'end',
    ]);
  });

  it('reads staleness overrides and refuses bad ones', () => {
    const template = parseTemplate(
      { ...diamond(), staleness: { steps_in_process_minutes: 5, max_lifetime_minutes: 60 } },
      SOURCE,
    );
    expect(template.staleness).toEqual({ stepsInProcessMinutes: 5, maxLifetimeMinutes: 60 });
    expect(parseTemplate(diamond(), SOURCE).staleness).toBeUndefined();
    expect(
      problemsOf({ ...diamond(), staleness: { steps_in_process_minutes: 0, waiting: 3 } }).problems,
    ).toEqual([
      "staleness: unknown key 'waiting'",
      'staleness.steps_in_process_minutes must be a whole number of minutes from 1 to 525600, got 0',
    ]);
  });

  it('rejects an unknown dependency, naming the file, the step and the dependency', () => {
    const raw = diamond();
    (raw.steps as Record<string, unknown>[])[3] = {
      name: 'end',
      handler: 'examples.sum',
      depends_on: ['left', 'middle'],
    };
    const e = problemsOf(raw);
    expect(e.problems).toEqual(["step 'end': depends on unknown step 'middle'"]);
    expect(e.message).toBe(`${SOURCE}: step 'end': depends on unknown step 'middle'`);
  });

  it('rejects a cycle, naming the steps in each cycle path', () => {
    const raw = diamond();
    (raw.steps as Record<string, unknown>[])[0] = {
      name: 'start',
      handler: 'examples.square',
      depends_on: ['end'],
    };
    const e = problemsOf(raw);
    expect(e.problems).toEqual([
      'cycle: start -> left -> end -> start',
      'cycle: start -> right -> end -> start',
    ]);
  });

  it('rejects a duplicate step name', () => {
    const raw = diamond();
    (raw.steps as unknown[]).push({ name: 'left', handler: 'examples.other' });
    expect(problemsOf(raw).problems).toEqual(["duplicate step name 'left' (defined 2 times)"]);
  });

  it('rejects a self-dependency', () => {
    const raw = diamond();
    (raw.steps as Record<string, unknown>[])[1] = {
      name: 'left',
      handler: 'examples.square',
      depends_on: ['left'],
    };
    expect(problemsOf(raw).problems).toContain("step 'left': depends on itself");
  });

  it('rejects unknown keys at the top level, in a step and in retry', () => {
    const raw = diamond();
    raw.identityStrategy = 'strict';
    const steps = raw.steps as Record<string, unknown>[];
    steps[1] = { name: 'left', handler: 'examples.square', dependson: ['start'] };
    steps[0] = {
      name: 'start',
      handler: 'examples.square',
      retry: { max_attempts: 2, base_ms: 10 },
    };
    const e = problemsOf(raw);
    expect(e.problems).toEqual([
      "unknown key 'identityStrategy' (did you mean 'identity_strategy'?)",
      "step 'start': retry: unknown key 'base_ms'",
      "step 'left': unknown key 'dependson' (did you mean 'depends_on'?)",
    ]);
  });

  it.each([
    ['1.0', '1.0'],
    ['v1.0.0', 'v1.0.0'],
    ['1.0.0-beta', '1.0.0-beta'],
  ])('rejects the bad version %s', (version, shown) => {
    const e = problemsOf({ ...diamond(), version });
    expect(e.problems).toEqual([
      `version must look like 1.0.0 (major.minor.patch), got '${shown}'`,
    ]);
  });

  it('rejects a version that YAML read as a number, and a missing one', () => {
    expect(problemsOf({ ...diamond(), version: 1 }).problems[0]).toMatch(
      /^version must look like 1\.0\.0.*got 1 \(quote it/,
    );
    const { version: _omit, ...rest } = diamond();
    expect(problemsOf(rest).problems).toEqual(['version is required (like 1.0.0)']);
  });

  it('rejects an input_schema that does not compile', () => {
    const e = problemsOf({ ...diamond(), input_schema: { type: 'integr' } });
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatch(
      /^input_schema is not a valid JSON Schema: schema is invalid: data\/type/,
    );
    expect(problemsOf({ ...diamond(), input_schema: [] }).problems).toEqual([
      'input_schema must be a JSON Schema mapping, got a list',
    ]);
  });

  it('rejects empty, missing or non-list steps', () => {
    expect(problemsOf({ ...diamond(), steps: [] }).problems).toEqual(['steps must not be empty']);
    expect(problemsOf({ ...diamond(), steps: undefined }).problems).toEqual([
      'steps is required (a non-empty list)',
    ]);
    expect(problemsOf({ ...diamond(), steps: { start: {} } }).problems).toEqual([
      'steps must be a list, got a mapping',
    ]);
  });

  it('rejects a template that is not a mapping', () => {
    expect(problemsOf(null).problems[0]).toMatch(/^a template must be a mapping/);
    expect(problemsOf(['x']).problems[0]).toMatch(/got a list$/);
  });

  it('rejects bad names for namespace, template and step', () => {
    const e = problemsOf({
      ...diamond(),
      namespace: 'Examples',
      name: 'x'.repeat(65),
      steps: [{ name: 'Start', handler: 'examples.square' }, { handler: 'examples.square' }],
    });
    expect(e.problems).toEqual([
      expect.stringMatching(/^namespace must be lower snake case .* got 'Examples'$/),
      expect.stringMatching(/^name must be lower snake case .*at most 64 characters/),
      expect.stringMatching(/^step 'Start': name must be lower snake case .* got 'Start'$/),
      'step #2: name is required',
    ]);
  });

  it('rejects a namespace too long for the queue, dead-letter queue and notify channel names made from it', () => {
    // 29 characters: 'tasker_message_ready.worker_<namespace>_queue' is then 63 bytes, PostgreSQL's limit.
    const longest = `n${'x'.repeat(28)}`;
    expect(parseTemplate({ ...diamond(), namespace: longest }, 'longest.yaml').namespace).toBe(
      longest,
    );
    const e = problemsOf({ ...diamond(), namespace: `${longest}x` });
    expect(e.problems).toEqual([
      `namespace '${longest}x' is 30 characters; at most 29 fit in the names derived from it ` +
        `(its notify channel 'tasker_message_ready.worker_${longest}x_queue' would be 64 bytes, ` +
        `over PostgreSQL's identifier limit of 63)`,
    ]);
  });

  it('collects every problem of every step, each naming its step', () => {
    const e = problemsOf({
      namespace: 'examples',
      name: 'bad',
      version: '1.0.0',
      identity_strategy: 'sometimes',
      steps: [
        {
          name: 'a',
          handler: '9lives',
          depends_on: 'b',
          retryable: 'yes',
          retry: {
            max_attempts: 0,
            backoff: 'random',
            backoff_base_ms: -1,
            max_backoff_ms: 1.5,
            jitter: 2,
          },
          timeout_seconds: 86401,
          inputs: [1],
        },
        { name: 'b', retry: { backoff_base_ms: 5000, max_backoff_ms: 1000 }, timeout_seconds: 0 },
        'not a step',
      ],
    });
    expect(e.problems).toEqual([
      "identity_strategy must be one of strict, caller_provided, always_unique, got 'sometimes'",
      "step 'a': handler must be a name like examples.square or Payments::RefundHandler (letters, digits, _ . : -, at most 500 characters), got '9lives'",
      "step 'a': depends_on must be a list of step names, got 'b' (write [b])",
      "step 'a': retryable must be true or false, got 'yes'",
      "step 'a': retry.max_attempts must be an integer >= 1, got 0",
      "step 'a': retry.backoff must be one of exponential, fixed, linear, fibonacci, none, got 'random'",
      "step 'a': retry.backoff_base_ms must be an integer >= 0, got -1",
      "step 'a': retry.max_backoff_ms must be an integer >= 0, got 1.5",
      "step 'a': retry.jitter must be a number from 0 to 1, got 2",
      "step 'a': timeout_seconds must be an integer from 1 to 86400, got 86401",
      "step 'a': inputs must be a mapping, got a list",
      "step 'b': handler is required",
      "step 'b': retry.max_backoff_ms (1000) must be >= backoff_base_ms (5000)",
      "step 'b': timeout_seconds must be an integer from 1 to 86400, got 0",
      "step #3: must be a mapping with at least name and handler, got 'not a step'",
    ]);
  });

  it('checks max_backoff_ms against the default base when only one is given', () => {
    const raw = diamond();
    (raw.steps as Record<string, unknown>[])[1] = {
      name: 'left',
      handler: 'examples.square',
      depends_on: ['start'],
      retry: { max_backoff_ms: 10 },
    };
    expect(problemsOf(raw).problems).toEqual([
      `step 'left': retry.max_backoff_ms (10) must be >= backoff_base_ms (${DEFAULT_RETRY_POLICY.backoffBaseMs})`,
    ]);
  });

  it('rejects repeated entries in depends_on', () => {
    const raw = diamond();
    (raw.steps as Record<string, unknown>[])[3] = {
      name: 'end',
      handler: 'examples.sum',
      depends_on: ['left', 'left'],
    };
    expect(problemsOf(raw).problems).toEqual([
      "step 'end': depends_on lists 'left' more than once",
    ]);
  });

  it('does not share objects with its input', () => {
    const raw = diamond();
    const t = parseTemplate(raw, SOURCE);
    (raw.input_schema as Record<string, unknown>).type = 'array';
    expect(t.inputSchema.type).toBe('object');
  });
});
