import { registerAs } from '@nestjs/config';
import { ConfigReader } from './config-reader.js';
import type { ConfigRecorder } from './config-recorder.js';
import { configSource, type ConfigValues } from './config-source.js';
import { readTaskerEnv, type TaskerEnv } from './tasker-env.js';

export interface WorkerConfig {
  env: TaskerEnv;
  port: number;
  templatePath: string;
  /** Namespaces this worker serves; empty = every namespace in the templates. */
  namespaces: string[];
  /** Handlers running at once in this process. */
  concurrency: number;
  /**
   * PGMQ: how long a step message stays hidden while this worker holds it. After a worker
   * dies, its steps are picked up again after this (and after their own timeout).
   */
  stepVisibilityTimeoutMs: number;
}

export function parseWorkerConfig(values: ConfigValues, recorder?: ConfigRecorder): WorkerConfig {
  const read = new ConfigReader(values, recorder);
  return read.done({
    env: readTaskerEnv(read),
    port: read.integer('PORT', 8081, 0, 65535),
    templatePath: read.string('TASKER_TEMPLATE_PATH', 'config/tasks'),
    namespaces: read.list('TASKER_WORKER_NAMESPACES'),
    concurrency: read.integer('TASKER_WORKER_CONCURRENCY', 10, 1, 1000),
    stepVisibilityTimeoutMs: read.integer(
      'TASKER_STEP_VISIBILITY_TIMEOUT_MS',
      30000,
      1000,
      3600000,
    ),
  });
}

export const workerConfig = registerAs('worker', () => parseWorkerConfig(configSource()));
