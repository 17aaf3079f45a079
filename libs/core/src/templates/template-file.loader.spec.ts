import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { TemplateValidationError } from '../errors/tasker.error.js';
import { ContextValidator } from './context-validator.js';
import { templateKey } from './task-template.js';
import { loadTemplatesFromDirectory } from './template-file.loader.js';

const template = (name: string, version = '1.0.0', extra = '') => `namespace: tests
name: ${name}
version: ${version}
steps:
  - name: only
    handler: tests.noop
${extra}`;

describe('loadTemplatesFromDirectory', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasker-templates-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(relativePath: string, text: string): Promise<void> {
    await mkdir(dirname(join(dir, relativePath)), { recursive: true });
    await writeFile(join(dir, relativePath), text);
  }

  async function loadError(): Promise<TemplateValidationError> {
    const error: unknown = await loadTemplatesFromDirectory(dir).then(
      () => new Error('expected loading to fail'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TemplateValidationError);
    return error as TemplateValidationError;
  }

  it('finds .yaml and .yml files recursively, sorted by template key, with relative sources', async () => {
    await write('b.yaml', template('zeta'));
    await write('nested/deeper/a.yml', template('alpha', '2.0.0'));
    await write('nested/alpha-old.YAML', template('alpha', '1.0.0'));
    await write('README.md', 'not a template');
    await write('notes.txt', 'namespace: nope');

    const templates = await loadTemplatesFromDirectory(dir);
    expect(templates.map((t) => [templateKey(t), t.source])).toEqual([
      ['tests/alpha@1.0.0', 'nested/alpha-old.YAML'],
      ['tests/alpha@2.0.0', 'nested/deeper/a.yml'],
      ['tests/zeta@1.0.0', 'b.yaml'],
    ]);
  });

  describe('step timeouts against the staleness thresholds', () => {
    const defaults = {
      waitingForDependenciesMinutes: 60,
      waitingForRetryMinutes: 60,
      stepsInProcessMinutes: 60,
      maxLifetimeMinutes: 1440,
    };
    const timed = (timeout: number, staleness = '') => `namespace: tests
name: timed
version: 1.0.0
${staleness}
steps:
  - name: slow
    handler: tests.noop
    timeout_seconds: ${timeout}
`;
    const loadWith = (d?: typeof defaults) =>
      loadTemplatesFromDirectory(dir, d && { stalenessDefaults: d }).then(
        () => null,
        (e: unknown) => e as TemplateValidationError,
      );

    it('refuses a step that may run longer than the task may go without a transition', async () => {
      await write('timed.yaml', timed(7200));
      const error = await loadWith(defaults);
      expect(error).toBeInstanceOf(TemplateValidationError);
      expect(error!.problems).toEqual([
        expect.stringMatching(
          /step "slow".*timeout_seconds 7200.*staleness threshold of 60 minutes.*TASKER_STALE_STEPS_IN_PROCESS_MINUTES/,
        ),
      ]);
      expect(error!.message).toContain('timed.yaml');
    });

    it('names the template override that sets the lower threshold', async () => {
      await write('timed.yaml', timed(600, 'staleness: { waiting_for_dependencies_minutes: 5 }'));
      expect((await loadWith(defaults))!.problems).toEqual([
        expect.stringMatching(
          /step "slow".*timeout_seconds 600.*5 minutes \(staleness\.waiting_for_dependencies_minutes\)/,
        ),
      ]);
      // Without the orchestration's defaults (tasker-ctl), the template's own overrides count.
      expect((await loadWith())!.problems).toHaveLength(1);
    });

    it('accepts a timeout within the thresholds, or thresholds the template raised', async () => {
      await write('timed.yaml', timed(3600));
      await write(
        'raised.yaml',
        timed(
          7200,
          'staleness: { steps_in_process_minutes: 180, waiting_for_dependencies_minutes: 180 }',
        ).replace('name: timed', 'name: raised'),
      );
      expect(await loadWith(defaults)).toBeNull();
    });
  });

  it('returns an empty list for a directory without templates', async () => {
    await expect(loadTemplatesFromDirectory(dir)).resolves.toEqual([]);
  });

  it('names a missing directory', async () => {
    const missing = join(dir, 'does-not-exist');
    await expect(loadTemplatesFromDirectory(missing)).rejects.toThrow(
      `template directory ${missing} does not exist`,
    );
    await expect(loadTemplatesFromDirectory(missing)).rejects.toBeInstanceOf(
      TemplateValidationError,
    );
  });

  it('reports a YAML syntax error with the file and line', async () => {
    await write(
      'sub/broken.yaml',
      'namespace: tests\nname: broken\nsteps: [a, b\nversion: 1.0.0\n',
    );
    const e = await loadError();
    expect(e.source).toBe('sub/broken.yaml');
    expect(e.message).toMatch(/^sub\/broken\.yaml: YAML syntax error at line 4, column 1: /);
    expect(e.message).not.toContain('\n');
  });

  it('reports duplicate YAML keys with their line', async () => {
    await write('dup.yaml', template('x') + 'name: again\n');
    const e = await loadError();
    expect(e.message).toMatch(
      /^dup\.yaml: YAML syntax error at line 7, column 1: Map keys must be unique/,
    );
  });

  it('reports template problems naming the file and the step', async () => {
    await write('bad.yaml', template('bad') + '    depends_on: [ghost]\n');
    const e = await loadError();
    expect(e.message).toBe("bad.yaml: step 'only': depends on unknown step 'ghost'");
  });

  it('reports an empty file', async () => {
    await write('empty.yaml', '');
    const e = await loadError();
    expect(e.message).toMatch(/^empty\.yaml: a template must be a mapping/);
  });

  it('names both files when two define the same namespace/name@version', async () => {
    await write('a.yaml', template('same'));
    await write('z/b.yaml', template('same'));
    const e = await loadError();
    expect(e.message).toContain(
      'template tests/same@1.0.0 is defined twice: in a.yaml and in z/b.yaml',
    );
  });

  it('lists the problems of every bad file in one error', async () => {
    await write('one.yaml', template('one', '1'));
    await write('two.yml', 'steps: [');
    await write('fine.yaml', template('fine'));
    const e = await loadError();
    expect(e.source).toBe(dir);
    expect(e.problems).toEqual([
      expect.stringMatching(/^one\.yaml: version must look like 1\.0\.0/),
      expect.stringMatching(/^two\.yml: YAML syntax error at line 1/),
    ]);
  });
});

describe('the example templates in config/tasks', () => {
  const configDir = resolve(process.cwd(), 'config/tasks');

  it('all parse, with their steps in order', async () => {
    const templates = await loadTemplatesFromDirectory(configDir);
    const byKey = new Map(templates.map((t) => [templateKey(t), t]));
    expect([...byKey.keys()]).toEqual(
      expect.arrayContaining([
        'examples/diamond@1.0.0',
        'examples/flaky@1.0.0',
        'examples/linear@1.0.0',
        'examples/sleep@1.0.0',
      ]),
    );

    const linear = byKey.get('examples/linear@1.0.0');
    expect(linear?.source).toBe('examples/linear.yaml');
    expect(linear?.steps.map((s) => [s.name, s.handler, s.dependsOn])).toEqual([
      ['square_1', 'examples.square', []],
      ['square_2', 'examples.square', ['square_1']],
      ['square_3', 'examples.square', ['square_2']],
      ['square_4', 'examples.square', ['square_3']],
    ]);

    const diamond = byKey.get('examples/diamond@1.0.0');
    expect(diamond?.identityStrategy).toBe('strict');
    expect(diamond?.steps.map((s) => s.name)).toEqual(['start', 'left', 'right', 'end']);
    expect(diamond?.steps[0]).toMatchObject({
      retry: { maxAttempts: 3, backoff: 'exponential', backoffBaseMs: 500, maxBackoffMs: 30000 },
      timeoutSeconds: 30,
    });
    expect(diamond?.steps[3]).toMatchObject({
      handler: 'examples.sum',
      dependsOn: ['left', 'right'],
    });

    const flaky = byKey.get('examples/flaky@1.0.0');
    expect(flaky?.identityStrategy).toBe('always_unique');
    expect(flaky?.steps.map((s) => [s.name, s.handler])).toEqual([
      ['work', 'examples.flaky'],
      ['finish', 'examples.sleep'],
    ]);
    expect(flaky?.steps[0]?.retry).toMatchObject({
      maxAttempts: 4,
      backoffBaseMs: 100,
      maxBackoffMs: 1000,
    });

    const sleep = byKey.get('examples/sleep@1.0.0');
    expect(sleep?.identityStrategy).toBe('always_unique');
    expect(sleep?.steps).toEqual([
      expect.objectContaining({ name: 'nap', handler: 'examples.sleep', timeoutSeconds: 5 }),
    ]);
    expect(sleep?.steps[0]?.retry.maxAttempts).toBe(1);
  });

  it('validate contexts against their input schemas', async () => {
    const templates = await loadTemplatesFromDirectory(configDir);
    const get = (name: string) => {
      const t = templates.find((x) => x.namespace === 'examples' && x.name === name);
      if (!t) throw new Error(`examples/${name} not loaded`);
      return t;
    };
    const v = new ContextValidator();
    expect(v.validate(get('linear'), { n: 2 })).toEqual([]);
    expect(v.validate(get('linear'), { n: 'two' })).toEqual(['/n must be integer']);
    expect(v.validate(get('diamond'), {})).toEqual(["must have required property 'n'"]);
    expect(v.validate(get('flaky'), {})).toEqual([]);
    expect(v.validate(get('flaky'), { failTimes: -1 })).toEqual(['/failTimes must be >= 0']);
    expect(v.validate(get('sleep'), { sleepMs: 10 })).toEqual([]);
    expect(v.validate(get('sleep'), {})).toEqual(["must have required property 'sleepMs'"]);
  });
});
