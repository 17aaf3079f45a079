import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv, type TaskerEnv } from './tasker-env.js';

export const DEPLOYMENT_MODES = ['standard', 'migrate-only', 'no-migrate'] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

export interface OrchestrationConfig {
  env: TaskerEnv;
  port: number;
  deploymentMode: DeploymentMode;
  migrationTimeoutSeconds: number;
  migrationRetries: number;
  templatePath: string;
  /** How often the sweep looks for steps whose retry time has come. */
  sweepIntervalMs: number;
  /** A step still `enqueued` this long after its announcement is announced again. */
  reannounceAfterMs: number;
}

export function parseOrchestrationConfig(values: ConfigValues): OrchestrationConfig {
  const read = new ConfigReader(values);
  return read.done({
    env: readTaskerEnv(read),
    port: read.integer('PORT', 8080, 0, 65535),
    deploymentMode: read.enumValue('DEPLOYMENT_MODE', DEPLOYMENT_MODES, 'standard'),
    migrationTimeoutSeconds: read.integer('DB_MIGRATION_TIMEOUT', 300, 1, 86400),
    migrationRetries: read.integer('DB_MIGRATION_RETRIES', 3, 0, 100),
    templatePath: read.string('TASKER_TEMPLATE_PATH', 'config/tasks'),
    sweepIntervalMs: read.integer('TASKER_SWEEP_INTERVAL_MS', 1000, 50, 3600000),
    reannounceAfterMs: read.integer('TASKER_REANNOUNCE_AFTER_MS', 300000, 1000, 86400000),
  });
}

export const orchestrationConfig = registerAs('orchestration', () =>
  parseOrchestrationConfig(configSource()),
);
