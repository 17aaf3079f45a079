import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '#core';

export type ConfigValues = Readonly<Record<string, string | undefined>>;

let cached: ConfigValues | undefined;

/**
 * The values config namespaces read: the optional TASKER_CONFIG_PATH file (YAML or JSON with
 * the same keys as the env variables), overridden by the environment. Read once and cached.
 */
export function configSource(): ConfigValues {
  cached ??= loadConfigSource(process.env);
  return cached;
}

/** Test-only: forget the cached values so the next read sees the current environment. */
export function resetConfigSourceForTests(): void {
  cached = undefined;
}

export function loadConfigSource(env: NodeJS.ProcessEnv): ConfigValues {
  const path = env.TASKER_CONFIG_PATH;
  if (!path) return { ...env };
  let fileValues: unknown;
  try {
    fileValues = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`TASKER_CONFIG_PATH: cannot read ${path}: ${errorMessage(err)}`]);
  }
  if (fileValues === null || typeof fileValues !== 'object' || Array.isArray(fileValues)) {
    throw new ConfigError([`TASKER_CONFIG_PATH: ${path} must hold a mapping of VARIABLE: value`]);
  }
  const fromFile: Record<string, string> = {};
  for (const [key, value] of Object.entries(fileValues)) {
    if (value === null || typeof value === 'object') {
      throw new ConfigError([`TASKER_CONFIG_PATH: ${path}: ${key} must be a scalar`]);
    }
    fromFile[key] = String(value);
  }
  return { ...fromFile, ...env };
}
