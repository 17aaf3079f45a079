import pg from 'pg';
import { ConfigError } from '#core';

/** Runs one statement on its own connection to `url` (a server a test started or restored). */
export async function queryOnce<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The problems of the ConfigError `fn` throws; fails the test if it throws nothing or else. */
export function configProblemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
