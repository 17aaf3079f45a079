import { readFileSync } from 'node:fs';
import path from 'node:path';

export type AppName = 'orchestration' | 'worker';

/**
 * The environment variables an app reads, taken from the sources: its config namespaces
 * (libs/config) and its container entrypoint. Deployment files are checked against this, so a
 * misspelt or stale variable name fails a test instead of being silently ignored at run time.
 */
export function variablesReadBy(app: AppName, root = process.cwd()): Set<string> {
  const configDir = path.join(root, 'libs', 'config', 'src');
  const files = ['database', 'logging', 'messaging', app].map((n) => `${n}.config.ts`);
  const sources = [...files, 'tasker-env.ts', 'config-source.ts']
    .map((f) => readFileSync(path.join(configDir, f), 'utf8'))
    .join('\n');
  const entrypoint = readFileSync(path.join(root, 'docker', `entrypoint-${app}.sh`), 'utf8');
  return new Set([
    ...[...sources.matchAll(/'([A-Z][A-Z0-9_]{2,})'|env\.([A-Z][A-Z0-9_]+)/g)].map(
      (m) => (m[1] ?? m[2])!,
    ),
    ...[...entrypoint.matchAll(/\$\{([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!),
  ]);
}
