import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { registerTemplateCommands } from './template.command.js';

/** `template validate` as the CLI parses it, with what it writes to stdout captured. */
describe('tasker-ctl template validate', () => {
  let dir: string;
  let stdout: string[];
  const write = process.stdout.write.bind(process.stdout);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'template-validate-'));
    stdout = [];
    process.stdout.write = (chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    };
  });

  afterEach(async () => {
    process.stdout.write = write;
    await rm(dir, { recursive: true, force: true });
  });

  async function validate(...args: string[]): Promise<unknown> {
    const program = new Command('tasker-ctl').exitOverride();
    registerTemplateCommands(program);
    return program.parseAsync(['template', 'validate', ...args], { from: 'user' }).then(
      () => undefined,
      (err: unknown) => err,
    );
  }

  it('fails a namespace too long for the names derived from it, naming the limit', async () => {
    const linear = await readFile('config/tasks/examples/linear.yaml', 'utf8');
    const namespace = 'n'.repeat(30);
    const file = join(dir, 'long.yaml');
    await writeFile(file, linear.replace('namespace: examples', `namespace: ${namespace}`));
    await writeFile(join(dir, 'ok.yaml'), linear);

    const failure = await validate(dir);
    expect(failure).toBeInstanceOf(CliError);
    expect(failure).toMatchObject({ exitCode: ExitCode.Failed });
    expect(stdout.join('').trimEnd().split('\n')).toEqual([
      `${file}: namespace '${namespace}' is 30 characters; at most 29 fit in the names derived ` +
        `from it (its notify channel 'tasker_message_ready.worker_${namespace}_queue' would be ` +
        `64 bytes, over PostgreSQL's identifier limit of 63)`,
      `${join(dir, 'ok.yaml')}: ok (examples/linear@1.0.0, 4 steps)`,
    ]);
  });

  it("checks step timeouts against orchestration's staleness thresholds from the environment, as boot does", async () => {
    const linear = await readFile('config/tasks/examples/linear.yaml', 'utf8');
    const file = join(dir, 'slow.yaml');
    // A 2-hour step: past the default 60-minute thresholds, within 3-hour ones.
    await writeFile(
      file,
      linear.replace(/^(\s+)handler: (.*)$/m, '$1handler: $2\n$1timeout_seconds: 7200'),
    );

    const failure = await validate(file);
    expect(failure).toMatchObject({ exitCode: ExitCode.Failed });
    expect(stdout.join('')).toMatch(
      /timeout_seconds 7200 is longer than the staleness threshold of 60 minutes \(TASKER_STALE_/,
    );

    stdout = [];
    const saved = { ...process.env };
    Object.assign(process.env, {
      TASKER_STALE_STEPS_IN_PROCESS_MINUTES: '180',
      TASKER_STALE_WAITING_FOR_DEPENDENCIES_MINUTES: '180',
    });
    try {
      expect(await validate(file)).toBeUndefined();
    } finally {
      process.env = saved;
    }
    expect(stdout.join('')).toContain(`${file}: ok (examples/linear@1.0.0, 4 steps)`);
  });
});
