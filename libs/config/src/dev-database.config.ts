import path from 'node:path';
import { ConfigReader } from './config-reader.js';
import type { ConfigValues } from './config-source.js';
import { readTaskerEnv } from './tasker-env.js';

/** Where `npm run demo` and `tasker-ctl dev` keep the embedded server's cluster, under the working directory. */
export const EMBEDDED_DATA_DIR = path.join('.tasker', 'pgdata');

/** The database the dev command and the demo run on. */
export type DevDatabase =
  | { readonly kind: 'external'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dataDir: string };

/**
 * DATABASE_URL when it is set (from the environment or TASKER_CONFIG_PATH); otherwise an
 * embedded PostgreSQL server with its cluster in `.tasker/pgdata` of `cwd`. Production never
 * gets an embedded server: there a missing DATABASE_URL stops the start, naming it.
 */
export function parseDevDatabase(values: ConfigValues, cwd: string): DevDatabase {
  const read = new ConfigReader(values);
  const env = readTaskerEnv(read);
  if (!values.DATABASE_URL?.trim()) {
    if (env === 'production') {
      read.report(
        'DATABASE_URL is required when TASKER_ENV=production (an embedded PostgreSQL server is started only outside production)',
      );
    }
    return read.done({ kind: 'embedded', dataDir: path.resolve(cwd, EMBEDDED_DATA_DIR) });
  }
  return read.done({
    kind: 'external',
    url: read.secretUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
  });
}
