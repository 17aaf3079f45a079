import path from 'node:path';
import { configProblemsOf } from '#testing';
import { parseDevDatabase } from './dev-database.config.js';

describe('the dev and demo database', () => {
  it('is an embedded server in .tasker/pgdata of the working directory when DATABASE_URL is unset', () => {
    for (const TASKER_ENV of [undefined, 'development', 'test']) {
      expect(parseDevDatabase({ TASKER_ENV, DATABASE_URL: '  ' }, '/home/dev/project')).toEqual({
        kind: 'embedded',
        dataDir: path.resolve('/home/dev/project/.tasker/pgdata'),
      });
    }
  });

  it('is the server in DATABASE_URL when it is set, in every environment', () => {
    const url = 'postgres://app:s3cret@db.internal:5432/tasker';
    for (const TASKER_ENV of ['development', 'production']) {
      expect(parseDevDatabase({ TASKER_ENV, DATABASE_URL: url }, '/srv')).toEqual({
        kind: 'external',
        url,
      });
    }
  });

  it('is never embedded in production: a missing DATABASE_URL is named', () => {
    expect(configProblemsOf(() => parseDevDatabase({ TASKER_ENV: 'production' }, '/srv'))).toEqual([
      'DATABASE_URL is required when TASKER_ENV=production (an embedded PostgreSQL server is started only outside production)',
    ]);
  });

  it('rejects a DATABASE_URL of another scheme or a bad TASKER_ENV without printing the URL', () => {
    const problems = configProblemsOf(() =>
      parseDevDatabase(
        { TASKER_ENV: 'staging', DATABASE_URL: 'mysql://root:hunter2@db/tasker' },
        '/srv',
      ),
    );
    expect(problems).toEqual([
      'TASKER_ENV must be one of development, test, production (got "staging")',
      'DATABASE_URL must be a URL with scheme postgres: or postgresql:',
    ]);
    expect(problems.join(' ')).not.toContain('hunter2');
  });
});
