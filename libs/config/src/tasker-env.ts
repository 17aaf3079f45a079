import type { ConfigReader } from './config-reader.js';

export const TASKER_ENVS = ['development', 'test', 'production'] as const;
export type TaskerEnv = (typeof TASKER_ENVS)[number];

export function readTaskerEnv(read: ConfigReader): TaskerEnv {
  return read.enumValue('TASKER_ENV', TASKER_ENVS, 'development');
}
