import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { createEmptyDatabase, createTestDatabase, queryOnce, type TestDatabase } from '#testing';

/**
 * The operator scripts of docker/scripts: shellcheck, --help, the exact docker commands their
 * --dry-run prints (no Docker needed), their checks and prompts, and backup.sh / restore.sh
 * for real against the local PostgreSQL with the local pg_dump and pg_restore.
 */
const root = process.cwd();
const scriptsDir = path.join(root, 'docker', 'scripts');
const scripts = readdirSync(scriptsDir)
  .filter((f) => f.endsWith('.sh') && f !== 'lib.sh')
  .sort();
const tmp = mkdtempSync(path.join(tmpdir(), 'tasker-scripts-'));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines with the repository path shown as `.`. */
  lines: string[];
}

/** Runs a script with none of the variables the scripts read inherited, plus `env`. */
function runScript(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): Run {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(DATABASE_URL|POSTGRES_|TASKER_|PG[A-Z]+$)/.test(key)) delete env[key];
  }
  const result = spawnSync(script, args, {
    cwd: options.cwd ?? root,
    env: { ...env, ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    lines: result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replaceAll(root, '.')),
  };
}

const script = (name: string) => path.join(scriptsDir, name);

/** A dry run that must succeed; its printed commands. */
function dry(name: string, args: string[], options: Parameters<typeof runScript>[2] = {}) {
  const result = runScript(script(name), [...args, '--dry-run'], options);
  expect({ status: result.status, stderr: result.stderr }).toEqual({
    status: 0,
    stderr: expect.any(String),
  });
  return result.lines;
}

describe('docker/scripts', () => {
  it('has the helper scripts the operator guide names', () => {
    expect(scripts).toEqual([
      'backup.sh',
      'build-images.sh',
      'cleanup.sh',
      'restore.sh',
      'run-dev-db.sh',
      'run-dev.sh',
      'run-integration.sh',
      'run-prod.sh',
    ]);
  });

  it.each(scripts)('%s is executable strict bash sharing lib.sh', (name) => {
    expect(statSync(script(name)).mode & 0o111).not.toBe(0);
    const text = readFileSync(script(name), 'utf8');
    expect(text).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/);
    expect(text).toContain('source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"');
    const syntax = spawnSync('bash', ['-n', script(name)], { encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
  });

  // shellcheck comes from Debian (.ci/run installs it): a missing one fails, never skips.
  it.each([...scripts, 'lib.sh'])('%s passes shellcheck (following lib.sh)', (name) => {
    const result = spawnSync('shellcheck', ['--external-sources', script(name)], {
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(scripts)('%s --help prints its usage and exits 0', (name) => {
    const result = runScript(script(name), ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: docker/scripts/${name} `));
    expect(result.stdout).toContain('--dry-run');
  });

  it.each(scripts)('%s rejects an unknown option with exit 64', (name) => {
    const result = runScript(script(name), ['--no-such-option', '--dry-run']);
    expect(result.status).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('run with --help for usage');
  });
});

describe('dry runs print the exact commands', () => {
  const compose = (env: string) => `docker compose -f ./docker/compose.${env}.yml`;

  it('run-dev.sh', () => {
    expect(dry('run-dev.sh', [])).toEqual([`${compose('dev')} up --build`]);
    expect(dry('run-dev.sh', ['up', '-d', '--no-build', '--backend', 'rabbitmq'])).toEqual([
      `env TASKER_MESSAGING_BACKEND=rabbitmq ${compose('dev')} up --detach --wait`,
    ]);
    expect(dry('run-dev.sh', ['down', '--volumes'])).toEqual([
      `${compose('dev')} down --remove-orphans --volumes`,
    ]);
    expect(dry('run-dev.sh', ['logs', 'worker'])).toEqual([
      `${compose('dev')} logs --follow --tail 200 worker`,
    ]);
    expect(runScript(script('run-dev.sh'), ['--backend', 'kafka', '--dry-run']).status).toBe(64);
  });

  it('run-integration.sh', () => {
    expect(dry('run-integration.sh', [])).toEqual([
      `${compose('test')} up --detach --wait --wait-timeout 300 --build`,
    ]);
    expect(
      dry('run-integration.sh', ['--backend', 'rabbitmq', '--port', '18080', '--timeout', '90']),
    ).toEqual([
      `env TASKER_MESSAGING_BACKEND=rabbitmq TASKER_TEST_ORCHESTRATION_PORT=18080 ${compose('test')} up --detach --wait --wait-timeout 90 --build`,
    ]);
    expect(dry('run-integration.sh', ['down'])).toEqual([
      `${compose('test')} down --volumes --remove-orphans`,
    ]);
  });

  it('run-dev-db.sh', () => {
    const db = compose('db');
    expect(dry('run-dev-db.sh', ['start'])).toEqual([`${db} up --detach --wait`]);
    expect(dry('run-dev-db.sh', ['stop'])).toEqual([`${db} down`]);
    expect(dry('run-dev-db.sh', ['psql', '-c', 'SELECT 1'])).toEqual([
      `${db} exec -T db psql -U tasker -d tasker -c 'SELECT 1'`,
    ]);
    expect(dry('run-dev-db.sh', ['status'], { env: { POSTGRES_USER: 'me' } })).toEqual([
      `${db} ps db`,
      `${db} exec -T db pg_isready -U me -d tasker -h 127.0.0.1`,
      `${db} exec -T db psql -U me -d tasker -Atc 'SELECT '\\''pgmq '\\'' || extversion FROM pg_extension WHERE extname = '\\''pgmq'\\'''`,
    ]);
    expect(dry('run-dev-db.sh', ['logs'])).toEqual([`${db} logs --follow --tail 200 db`]);
    expect(dry('run-dev-db.sh', ['reset', '--yes'])).toEqual([
      `${db} down --volumes`,
      `${db} up --detach --wait`,
    ]);
    const url = runScript(script('run-dev-db.sh'), ['url'], {
      env: { POSTGRES_PASSWORD: 'pw', TASKER_DB_PORT: '5433' },
    });
    expect(url.stdout).toBe('postgres://tasker:pw@127.0.0.1:5433/tasker\n');
  });

  it('run-dev-db.sh reset asks first: no answer or "n" changes nothing, "y" goes on', () => {
    for (const input of ['', 'n\n', 'maybe\n']) {
      const refused = runScript(script('run-dev-db.sh'), ['reset', '--dry-run'], { input });
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('aborted; nothing was changed');
    }
    expect(dry('run-dev-db.sh', ['reset'], { input: 'y\n' })).toHaveLength(2);
  });

  it('the compose files have what the scripts name (services, profiles)', () => {
    const load = (env: string) =>
      parse(readFileSync(path.join(root, 'docker', `compose.${env}.yml`), 'utf8'), {
        merge: true,
      }) as { services: Record<string, { profiles?: string[] }> };
    expect(Object.keys(load('db').services)).toEqual(['db']);
    expect(Object.keys(load('dev').services)).toEqual(
      expect.arrayContaining(['orchestration', 'worker']),
    );
    const prod = load('prod').services;
    expect(prod.migrate?.profiles).toEqual(['server']);
    expect(prod.worker?.profiles).toEqual(['server']);
    expect(prod.rabbitmq?.profiles).toEqual(['rabbitmq']);
    expect(prod.db?.profiles).toBeUndefined();
  });

  describe('run-prod.sh checks the settings file before anything', () => {
    const template = readFileSync(path.join(root, 'docker', '.env.prod.template'), 'utf8');
    function settings(name: string, edit: (text: string) => string): string {
      const file = path.join(tmp, name);
      writeFileSync(file, edit(template));
      return file;
    }
    const filled = (text: string) => text.replaceAll('CHANGE_ME', 's3cret');
    const prodCompose = (file: string, profiles: string) =>
      `env TASKER_ENV_FILE=${file} docker compose --env-file ${file} -f ./docker/compose.prod.yml ${profiles}`;

    it('refuses a missing file and names the template', () => {
      const result = runScript(script('run-prod.sh'), [
        '--env-file',
        path.join(tmp, 'absent.env'),
        '--dry-run',
      ]);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('cp docker/.env.prod.template docker/.env.prod');
    });

    it('refuses the unedited template, naming every CHANGE_ME the deployment uses', () => {
      const file = settings('template.env', (t) => t);
      const result = runScript(script('run-prod.sh'), ['--env-file', file, '--dry-run']);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('DATABASE_URL still holds CHANGE_ME');
      expect(result.stderr).toContain('POSTGRES_PASSWORD still holds CHANGE_ME');
      // pgmq is the backend, so the RabbitMQ placeholders do not matter.
      expect(result.stderr).not.toContain('RABBITMQ');
    });

    it('pgmq: the server profile only', () => {
      const file = settings('pgmq.env', filled);
      const base = prodCompose(file, '--profile server');
      expect(dry('run-prod.sh', ['--env-file', file])).toEqual([
        `${base} up --detach --remove-orphans`,
      ]);
      expect(dry('run-prod.sh', ['up', '--build', '--workers', '4', '--env-file', file])).toEqual([
        `${base} up --detach --remove-orphans --build --scale worker=4`,
      ]);
      expect(dry('run-prod.sh', ['scale', '6', '--env-file', file])).toEqual([
        `${base} up --detach --no-deps --no-recreate --scale worker=6 worker`,
      ]);
      expect(dry('run-prod.sh', ['migrate', '--env-file', file])).toEqual([
        `${base} run --rm migrate`,
      ]);
      expect(dry('run-prod.sh', ['down', '--env-file', file])).toEqual([
        `${base} down --remove-orphans`,
      ]);
      expect(runScript(script('run-prod.sh'), ['scale', '--env-file', file]).status).toBe(64);
    });

    it('rabbitmq at host rabbitmq: the bundled broker, whose password must be set', () => {
      const rabbit = (t: string) =>
        t.replace(/^TASKER_MESSAGING_BACKEND=pgmq$/m, 'TASKER_MESSAGING_BACKEND=rabbitmq');
      const unset = settings('rabbit-unset.env', (t) =>
        rabbit(t).replace(/^(DATABASE_URL|POSTGRES_PASSWORD|RABBITMQ_URL)=.*$/gm, (line) =>
          line.replaceAll('CHANGE_ME', 's3cret'),
        ),
      );
      const refused = runScript(script('run-prod.sh'), ['check', '--env-file', unset]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('RABBITMQ_DEFAULT_PASS still holds CHANGE_ME');

      const file = settings('rabbit.env', (t) => filled(rabbit(t)));
      expect(dry('run-prod.sh', ['--env-file', file])).toEqual([
        `${prodCompose(file, '--profile server --profile rabbitmq')} up --detach --remove-orphans`,
      ]);
    });

    it('rabbitmq elsewhere: no bundled broker', () => {
      const file = settings('rabbit-external.env', (t) =>
        filled(t)
          .replace(/^TASKER_MESSAGING_BACKEND=pgmq$/m, 'TASKER_MESSAGING_BACKEND=rabbitmq')
          .replace(/^RABBITMQ_URL=.*$/m, 'RABBITMQ_URL=amqps://u:p@mq.example.internal:5671'),
      );
      expect(dry('run-prod.sh', ['ps', '--env-file', file])).toEqual([
        `${prodCompose(file, '--profile server')} ps`,
      ]);
    });
  });

  describe('build-images.sh', () => {
    const version = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;

    /** A committed copy of what the script reads, so the tags do not depend on this tree. */
    function repository(): { dir: string; sha: string } {
      const dir = mkdtempSync(path.join(tmp, 'repo-'));
      mkdirSync(path.join(dir, 'docker', 'scripts'), { recursive: true });
      for (const name of ['lib.sh', 'build-images.sh']) {
        copyFileSync(script(name), path.join(dir, 'docker', 'scripts', name));
      }
      copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
      const git = (...args: string[]) =>
        spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
          cwd: dir,
          encoding: 'utf8',
        }).stdout.trim();
      git('init', '--quiet');
      git('add', '.');
      git('commit', '--quiet', '-m', 'snapshot');
      return { dir, sha: git('rev-parse', 'HEAD') };
    }

    it('tags each image with the package version, the commit and extra tags, and pushes', () => {
      const { dir, sha } = repository();
      const result = runScript(
        path.join(dir, 'docker', 'scripts', 'build-images.sh'),
        ['--registry', 'registry.example.com/tasker', '--tag', 'latest', '--push', '--dry-run'],
        { cwd: dir },
      );
      expect(result.status).toBe(0);
      const lines = result.lines.map((l) => l.replaceAll(dir, '<repo>'));
      const tags = (image: string) =>
        [version, `sha-${sha.slice(0, 12)}`, 'latest']
          .map((t) => `--tag registry.example.com/tasker/${image}:${t}`)
          .join(' ');
      const labels = `--label org.opencontainers.image.version=${version} --label org.opencontainers.image.revision=${sha}`;
      expect(lines).toEqual([
        `docker build --file <repo>/docker/Dockerfile --target orchestration ${tags('orchestration')} ${labels} <repo>`,
        `docker build --file <repo>/docker/Dockerfile --target worker ${tags('worker')} ${labels} <repo>`,
        `docker build --file <repo>/docker/db/Dockerfile ${tags('db')} ${labels} <repo>/docker/db`,
        ...['orchestration', 'worker', 'db'].flatMap((image) =>
          [version, `sha-${sha.slice(0, 12)}`, 'latest'].map(
            (t) => `docker push registry.example.com/tasker/${image}:${t}`,
          ),
        ),
      ]);
    });

    it('marks a dirty tree in the sha tag and refuses to push it', () => {
      const { dir, sha } = repository();
      const builder = path.join(dir, 'docker', 'scripts', 'build-images.sh');
      writeFileSync(path.join(dir, 'untracked.txt'), 'x');
      const result = runScript(builder, ['worker', '--dry-run'], { cwd: dir });
      expect(result.status).toBe(0);
      expect(result.lines).toHaveLength(1);
      expect(result.lines[0]).toContain(`--tag tasker/worker:sha-${sha.slice(0, 12)}-dirty`);
      const push = runScript(builder, ['--push', '--registry', 'r.example.com', '--dry-run'], {
        cwd: dir,
      });
      expect(push.status).toBe(1);
      expect(push.stdout).toBe('');
      expect(push.stderr).toContain('uncommitted changes');
    });

    it('--push without a registry is refused', () => {
      const result = runScript(script('build-images.sh'), ['--push', '--dry-run']);
      expect(result.status).toBe(64);
      expect(result.stderr).toContain('--push needs --registry');
    });
  });

  it('cleanup.sh: levels, stacks, confirmation, never production', () => {
    expect(dry('cleanup.sh', [])).toEqual(
      ['dev', 'test', 'db'].map((env) => `${compose(env)} down --remove-orphans`),
    );
    expect(dry('cleanup.sh', ['images', '--env', 'dev,db', '--yes'])).toEqual(
      ['dev', 'db'].map((env) => `${compose(env)} down --remove-orphans --volumes --rmi all`),
    );
    expect(dry('cleanup.sh', ['volumes', '--env', 'test'], { input: 'yes\n' })).toEqual([
      `${compose('test')} down --remove-orphans --volumes`,
    ]);
    const refused = runScript(script('cleanup.sh'), ['volumes', '--dry-run'], { input: 'n\n' });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    const prod = runScript(script('cleanup.sh'), ['--env', 'prod', '--dry-run']);
    expect(prod.status).toBe(64);
    expect(prod.stderr).toContain('never touches production');
  });

  it('backup.sh and restore.sh in a compose stack run pg_dump/pg_restore in the db container', () => {
    const archive = path.join(tmp, 'compose.dump');
    const exec = `${compose('prod')} exec -T db`;
    expect(dry('backup.sh', ['--compose', 'prod', '--output', archive])).toEqual([
      `${exec} sh -c 'exec pg_dump --format=custom -U "$POSTGRES_USER" -d "$POSTGRES_DB"' > ${archive}.partial`,
      `${exec} pg_restore --list < ${archive}.partial > /dev/null`,
      `mv ${archive}.partial ${archive}`,
    ]);
    writeFileSync(archive, '');
    const restore = dry('restore.sh', [archive, '--compose', 'prod', '--force']);
    expect(restore).toHaveLength(4);
    expect(restore[0]).toBe(`${exec} pg_restore --list < ${archive} > /dev/null`);
    expect(restore[1]).toMatch(/^docker compose .* exec -T db sh -c .* count-tables 'SELECT /);
    expect(restore[2]).toBe(
      `${exec} sh -c 'exec pg_restore --clean --if-exists --no-owner --single-transaction -U "$POSTGRES_USER" -d "$POSTGRES_DB"' < ${archive}`,
    );
    expect(restore[3]).toContain('-c ANALYZE');
  });

  it('a dry run never prints a password', () => {
    const lines = dry('backup.sh', ['--output', path.join(tmp, 'x.dump')], {
      env: { DATABASE_URL: 'postgres://tasker:hunter2@db.example.internal:5432/tasker' },
    });
    expect(lines[0]).toBe(
      `pg_dump --format=custom --file=${tmp}/x.dump.partial --dbname=postgres://tasker:***@db.example.internal:5432/tasker`,
    );
    expect(lines.join('\n')).not.toContain('hunter2');
  });
});

describe('backup.sh and restore.sh against PostgreSQL', () => {
  let source: TestDatabase;
  let fresh: TestDatabase;
  const archive = path.join(tmp, 'tasker.dump');

  /** What a restore must bring back: rows of the tasker schema and the queued messages. */
  async function snapshot(url: string) {
    return {
      namespaces: await queryOnce(url, 'SELECT name FROM tasker.task_namespaces ORDER BY name'),
      migrations: await queryOnce(url, 'SELECT version FROM tasker.schema_migrations ORDER BY 1'),
      messages: await queryOnce(url, 'SELECT msg_id, message FROM pgmq.q_backup_probe ORDER BY 1'),
    };
  }

  beforeAll(async () => {
    [source, fresh] = await Promise.all([createTestDatabase(), createEmptyDatabase()]);
    await queryOnce(
      source.url,
      `INSERT INTO tasker.task_namespaces (name) VALUES ('billing'), ('examples');
       SELECT pgmq.create('backup_probe');
       SELECT pgmq.send('backup_probe', '{"step": 1}'), pgmq.send('backup_probe', '{"step": 2}');`,
    );
  });
  afterAll(async () => {
    await Promise.all([source?.drop(), fresh?.drop()]);
  });

  it('backs up, refuses to restore over data, restores with --force, and into an empty database', async () => {
    const before = await snapshot(source.url);
    expect(before.namespaces).toHaveLength(2);
    expect(before.messages).toHaveLength(2);

    const backup = runScript(script('backup.sh'), ['--output', archive], {
      env: { DATABASE_URL: source.url },
    });
    expect({ status: backup.status, stderr: backup.stderr }).toEqual({
      status: 0,
      stderr: expect.stringMatching(/wrote .*tasker\.dump \(.*sha256 [0-9a-f]{64}\)/),
    });
    expect(existsSync(archive)).toBe(true);
    expect(existsSync(`${archive}.partial`)).toBe(false);
    const listing = spawnSync('pg_restore', ['--list', archive], { encoding: 'utf8' }).stdout;
    expect(listing).toMatch(/TABLE DATA tasker task_namespaces/);
    expect(listing).toMatch(/TABLE DATA pgmq q_backup_probe/);

    // An existing file is never overwritten.
    const again = runScript(script('backup.sh'), ['--output', archive], {
      env: { DATABASE_URL: source.url },
    });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists');

    await queryOnce(
      source.url,
      'DELETE FROM tasker.task_namespaces; DELETE FROM pgmq.q_backup_probe; CREATE TABLE public.extra (id int)',
    );

    const refused = runScript(script('restore.sh'), [archive, '--database-url', source.url]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refusing to restore into .* already holds \d+ tables/);
    expect((await snapshot(source.url)).namespaces).toEqual([]);

    const forced = runScript(script('restore.sh'), [archive, '--force'], {
      env: { DATABASE_URL: source.url },
    });
    expect({ status: forced.status, stderr: forced.stderr }).toEqual({
      status: 0,
      stderr: expect.stringContaining('restored'),
    });
    expect(await snapshot(source.url)).toEqual(before);
    // Objects the archive does not hold are left alone.
    expect(await queryOnce(source.url, `SELECT to_regclass('public.extra') AS t`)).toEqual([
      { t: 'extra' },
    ]);

    const intoEmpty = runScript(script('restore.sh'), [archive, '--database-url', fresh.url]);
    expect({ status: intoEmpty.status, stderr: intoEmpty.stderr }).toEqual({
      status: 0,
      stderr: expect.stringContaining('restored'),
    });
    expect(await snapshot(fresh.url)).toEqual(before);
  });

  it('a file that is not an archive is refused before the database is touched', async () => {
    const bogus = path.join(tmp, 'not-a-dump.dump');
    writeFileSync(bogus, 'hello');
    const result = runScript(script('restore.sh'), [bogus, '--force'], {
      env: { DATABASE_URL: source.url },
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/pg_restore/);
    expect((await snapshot(source.url)).namespaces).toHaveLength(2);
  });
});
