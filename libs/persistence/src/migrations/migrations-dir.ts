import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `migrations/` at the package root, found by walking up from this file, so it works from the
 * sources (tests), from dist/ and inside the image alike. TASKER_MIGRATIONS_PATH overrides.
 */
export function defaultMigrationsDir(): string {
  const override = process.env.TASKER_MIGRATIONS_PATH;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) {
      return join(dir, 'migrations');
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the migrations/ directory');
    dir = parent;
  }
}
