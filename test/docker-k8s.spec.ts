import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer, IPodTemplateSpec } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { variablesReadBy } from './support/app-variables.js';

/**
 * The Kubernetes manifests of docker/k8s: each object against the Kubernetes OpenAPI schema
 * (kubernetes-models ships it compiled, offline), then what the schema cannot know: probes on
 * the apps' real health routes and ports, resources, the restricted Pod Security Standard,
 * grace periods that cover the apps' shutdown grace, images, and environment variables that
 * the apps actually read.
 */
const root = process.cwd();
const k8sDir = path.join(root, 'docker', 'k8s');

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const files = readdirSync(k8sDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort();
const kustomization = parse(readFileSync(path.join(k8sDir, 'kustomization.yaml'), 'utf8')) as {
  kind: string;
  namespace: string;
  resources: string[];
  images: { name: string; newTag: string }[];
};
const manifests: Manifest[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(k8sDir, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.join('; ')}`);
    return { ...(doc.toJS() as Manifest), file };
  }),
);

function one<T>(kind: string, name: string): T & Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  expect(found.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([`${kind}/${name}`]);
  return found[0] as T & Manifest;
}
const ofKind = <T>(kind: string) => manifests.filter((m) => m.kind === kind) as (T & Manifest)[];

const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Schema errors of a manifest, or [] when valid. */
function schemaErrors(manifest: { apiVersion: string; kind: string }): string[] {
  const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) return [`no schema for ${manifest.apiVersion}/${manifest.kind}`];
  try {
    new Model(manifest as never).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

type DeploymentManifest = Manifest & {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> } } & {
    template: IPodTemplateSpec;
  };
};
type JobManifest = Manifest & {
  spec: { activeDeadlineSeconds?: number; backoffLimit?: number; template: IPodTemplateSpec };
};

const configMap = one<{ data: Record<string, string> }>('ConfigMap', 'tasker-config');
const secretExample = one<{ stringData: Record<string, string> }>('Secret', 'tasker-secrets');
const deployments = ofKind<DeploymentManifest>('Deployment');
const orchestration = one<DeploymentManifest>('Deployment', 'tasker-orchestration');
const workers = deployments.filter(
  (d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'worker',
);
const migrate = one<JobManifest>('Job', 'tasker-migrate');
const podTemplates = [...deployments, migrate].map((m) => ({
  name: `${m.kind}/${m.metadata.name}`,
  template: m.spec.template,
}));

function container(template: IPodTemplateSpec): IContainer {
  const containers = template.spec?.containers ?? [];
  expect(containers).toHaveLength(1);
  return containers[0]!;
}
const envOf = (c: IContainer) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

/** Kubernetes quantities in base units (cores, bytes). */
function quantity(value: string | number | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${String(value)}`);
  const factor = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? factor[match[2] as keyof typeof factor] : 1);
}

const readBy = {
  orchestration: variablesReadBy('orchestration'),
  worker: variablesReadBy('worker'),
};
const appOf = (c: IContainer) =>
  c.image?.split(':')[0]?.endsWith('/worker') ? 'worker' : 'orchestration';

const packageVersion = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
).version;
const dockerfile = readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
const imageUid = Number(/useradd[^\n]*--uid (\d+)/.exec(dockerfile)?.[1]);
const shutdownGraceSeconds = Number(configMap.data.TASKER_SHUTDOWN_GRACE_MS) / 1000;

describe('Kubernetes manifests: schema', () => {
  it('docker/k8s holds the expected objects', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/tasker-config',
        'Deployment/tasker-orchestration',
        'Deployment/tasker-worker-examples',
        'HorizontalPodAutoscaler/tasker-worker-examples',
        'Job/tasker-migrate',
        'Namespace/tasker',
        'PodDisruptionBudget/tasker-orchestration',
        'PodDisruptionBudget/tasker-worker-examples',
        'Secret/tasker-secrets',
        'Service/tasker-orchestration',
      ].sort(),
    );
  });

  it.each(manifests.map((m) => [m.file, m] as const))(
    '%s is valid against the Kubernetes schema',
    (_file, manifest) => {
      const { file: _ignored, ...object } = manifest;
      expect(schemaErrors(object)).toEqual([]);
    },
  );

  it('the schema check can fail (a string port, a missing selector, an unknown kind)', () => {
    const { file: _f, ...object } = orchestration;
    const bad = structuredClone(object);
    bad.spec.template.spec!.containers[0]!.ports![0]!.containerPort = 'http' as never;
    expect(schemaErrors(bad)).toEqual([expect.stringContaining('containerPort must be integer')]);
    const noSelector = structuredClone(object) as Partial<typeof object> & { spec: object };
    delete (noSelector.spec as { selector?: unknown }).selector;
    expect(schemaErrors(noSelector as never)).toEqual([expect.stringContaining('selector')]);
    expect(schemaErrors({ ...object, kind: 'Deploymnt' })).toEqual([
      'no schema for apps/v1/Deploymnt',
    ]);
  });

  it('kustomization.yaml lists every manifest but the Secret example, at this version', () => {
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe('tasker');
    expect([...kustomization.resources].sort()).toEqual(
      files.filter((f) => f !== 'secret.example.yaml'),
    );
    expect(kustomization.images).toEqual([
      { name: 'tasker/orchestration', newTag: packageVersion },
      { name: 'tasker/worker', newTag: packageVersion },
    ]);
  });
});

describe('Kubernetes manifests: what the apps need', () => {
  it('every namespaced object is in the tasker namespace, which enforces restricted pods', () => {
    const namespace = one<Manifest>('Namespace', 'tasker');
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const m of manifests.filter((x) => x.kind !== 'Namespace')) {
      expect({ object: `${m.kind}/${m.metadata.name}`, ns: m.metadata.namespace }).toEqual({
        object: `${m.kind}/${m.metadata.name}`,
        ns: 'tasker',
      });
    }
  });

  it.each(podTemplates)('$name meets the restricted Pod Security Standard', ({ template }) => {
    const pod = template.spec!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: imageUid,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(imageUid).toBe(10001);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    const c = container(template);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // A read-only root needs a writable /tmp.
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
  });

  it.each(podTemplates)('$name requests and limits CPU and memory', ({ template }) => {
    const { requests, limits } = container(template).resources ?? {};
    for (const resource of ['cpu', 'memory']) {
      const request = quantity(requests?.[resource]);
      const limit = quantity(limits?.[resource]);
      expect(request).toBeGreaterThan(0);
      expect(limit).toBeGreaterThanOrEqual(request);
    }
  });

  it.each([
    ['tasker-orchestration', 'orchestration', 8080],
    ['tasker-worker-examples', 'worker', 8081],
  ] as const)('%s probes /health/live and /health/ready on %s port %d', (name, app, port) => {
    const c = container(one<DeploymentManifest>('Deployment', name).spec.template);
    expect(c.image).toBe(`tasker/${app}:${packageVersion}`);
    expect(c.ports).toEqual([{ name: 'http', containerPort: port }]);
    expect(envOf(c).PORT).toBe(String(port));
    // The Dockerfile target exposes the same port.
    expect(dockerfile).toMatch(
      new RegExp(`FROM runtime-base AS ${app}[\\s\\S]*?EXPOSE ${port}\\n`),
    );
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    // Each health check has a 2 s timeout in the app; the probe waits longer than that.
    expect(c.readinessProbe?.timeoutSeconds).toBeGreaterThan(2);
  });

  it.each(deployments.map((d) => [d.metadata.name, d] as const))(
    '%s gives the app its shutdown grace before SIGKILL',
    (_name, deployment) => {
      const pod = deployment.spec.template.spec!;
      const preStop = container(deployment.spec.template).lifecycle?.preStop?.exec?.command ?? [];
      const pause = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      // Margin for the worker to release unfinished runs and everyone to close connections.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        pause + shutdownGraceSeconds + 5,
      );
    },
  );

  it('orchestration never migrates; the migrate Job does, once, with room for every retry', () => {
    expect(envOf(container(orchestration.spec.template)).DEPLOYMENT_MODE).toBe('no-migrate');
    expect(orchestration.spec.replicas).toBeGreaterThanOrEqual(2);
    const job = container(migrate.spec.template);
    expect(envOf(job).DEPLOYMENT_MODE).toBe('migrate-only');
    expect(job.image).toBe(container(orchestration.spec.template).image);
    expect(migrate.spec.template.spec?.restartPolicy).toBe('Never');
    expect(job.livenessProbe ?? job.readinessProbe).toBeUndefined();
    const attempts = Number(envOf(job).DB_MIGRATION_RETRIES) + 1;
    expect(migrate.spec.activeDeadlineSeconds).toBeGreaterThanOrEqual(
      Number(envOf(job).DB_MIGRATION_TIMEOUT) * attempts,
    );
  });

  it.each(podTemplates)('$name sets only variables its app reads', ({ template }) => {
    const c = container(template);
    const known = readBy[appOf(c)];
    const given = [...Object.keys(configMap.data), ...(c.env ?? []).map((e) => e.name)];
    expect(given.filter((name) => !known.has(name))).toEqual([]);
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'tasker-config' } }]);
    // Secrets one by one, each under its own name, from keys the Secret has.
    for (const { name, valueFrom } of (c.env ?? []).filter((e) => e.valueFrom)) {
      expect(valueFrom?.secretKeyRef).toMatchObject({ name: 'tasker-secrets', key: name });
      expect(Object.keys(secretExample.stringData)).toContain(name);
    }
  });

  it('each app gets exactly the secrets it uses', () => {
    const secrets = (template: IPodTemplateSpec) =>
      (container(template).env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    expect(secrets(orchestration.spec.template)).toEqual([
      'DATABASE_URL',
      'RABBITMQ_URL',
      'TASKER_API_KEYS',
    ]);
    // The entrypoints check RABBITMQ_URL with the rabbitmq backend, so the Job needs it too.
    expect(secrets(migrate.spec.template)).toEqual(['DATABASE_URL', 'RABBITMQ_URL']);
    for (const worker of workers) {
      expect(secrets(worker.spec.template)).toEqual(['DATABASE_URL', 'RABBITMQ_URL']);
    }
  });

  it('the variable check knows each app (and so can fail)', () => {
    expect(readBy.orchestration.has('DEPLOYMENT_MODE')).toBe(true);
    expect(readBy.worker.has('DEPLOYMENT_MODE')).toBe(false);
    expect(readBy.worker.has('TASKER_WORKER_NAMESPACES')).toBe(true);
    expect(readBy.worker.has('ORCHESTRATION_URL')).toBe(true);
    expect(readBy.orchestration.has('TASKER_CONFIG_PATH')).toBe(true);
    expect(readBy.worker.has('TASKER_API_KEYS')).toBe(false);
  });

  it('the Secret example holds placeholders only and is never applied', () => {
    expect(Object.keys(secretExample.stringData).sort()).toEqual([
      'DATABASE_URL',
      'RABBITMQ_URL',
      'TASKER_API_KEYS',
    ]);
    for (const value of Object.values(secretExample.stringData))
      expect(value).toContain('CHANGE_ME');
    expect(Object.keys(configMap.data).filter((k) => /URL|PASS|KEY|SECRET/.test(k))).toEqual([]);
  });

  it('one worker Deployment per template namespace it names, each scaled by an HPA', () => {
    const templateNamespaces = new Set(
      readdirSync(path.join(root, 'config', 'tasks'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.yaml'))
        .map(
          (f) =>
            /^namespace:\s*(\S+)/m.exec(
              readFileSync(path.join(root, 'config', 'tasks', f), 'utf8'),
            )?.[1],
        ),
    );
    expect(workers.length).toBeGreaterThanOrEqual(1);
    const hpas = ofKind<{
      spec: {
        scaleTargetRef: { kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
      };
    }>('HorizontalPodAutoscaler');
    for (const worker of workers) {
      const namespace = envOf(container(worker.spec.template)).TASKER_WORKER_NAMESPACES;
      expect(namespace).toMatch(/^[a-z0-9_]+$/);
      expect(templateNamespaces).toContain(namespace);
      expect(worker.metadata.name).toBe(`tasker-worker-${namespace}`);
      const hpa = hpas.filter((h) => h.spec.scaleTargetRef.name === worker.metadata.name);
      expect(hpa).toHaveLength(1);
      expect(hpa[0]!.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(hpa[0]!.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa[0]!.spec.maxReplicas).toBeGreaterThan(hpa[0]!.spec.minReplicas);
      // The HPA owns the replica count; a fixed one would be reset on every apply.
      expect(worker.spec.replicas).toBeUndefined();
      expect(envOf(container(worker.spec.template)).ORCHESTRATION_URL).toBe(
        'http://tasker-orchestration:8080',
      );
    }
  });

  it('selectors match: Deployments their pods, the Service and each PDB exactly one Deployment', () => {
    const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const d of deployments) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata?.labels)).toBe(true);
    }
    const selected = (selector: Record<string, string>) =>
      deployments
        .filter((d) => matches(selector, d.spec.template.metadata?.labels))
        .map((d) => d.metadata.name);
    const service = one<{
      spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
    }>('Service', 'tasker-orchestration');
    expect(selected(service.spec.selector)).toEqual(['tasker-orchestration']);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http' }]);
    for (const pdb of ofKind<{ spec: { selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
    )) {
      expect(selected(pdb.spec.selector.matchLabels)).toEqual([pdb.metadata.name]);
    }
  });
});
