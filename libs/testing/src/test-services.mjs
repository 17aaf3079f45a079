// Which PostgreSQL and RabbitMQ a test run uses, and what they are. Plain JavaScript (typed by
// test-services.d.mts) because jest loads its globalSetup (test/support/global-setup.mjs)
// without the TypeScript transform the suites get.
import { request } from 'node:http';
import amqp from 'amqplib';
import pg from 'pg';

/** The advisory lock that serializes building and cloning the migrated template database. */
export const TEMPLATE_LOCK_KEY = 7_241_003_118;

/** The Docker engine's API endpoint from DOCKER_HOST (unix or tcp), else the default socket. */
export function dockerEndpoint(dockerHost) {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  return { url: dockerHost.replace(/^tcp:/, 'http:') };
}

/**
 * TASKER_TEST_CONTAINERS=1 asks for containers (a missing engine then fails the run), =0 for
 * the servers in DATABASE_URL / RABBITMQ_URL; unset, containers exactly when an engine answers.
 */
export function chooseTestServices(flag, engineAnswers) {
  switch (flag?.trim() ?? '') {
    case '1':
    case 'true':
      return 'containers';
    case '0':
    case 'false':
      return 'local';
    case '':
      return engineAnswers ? 'containers' : 'local';
    default:
      throw new Error(`TASKER_TEST_CONTAINERS must be 1 or 0 (got "${flag}")`);
  }
}

/** Whether a Docker engine answers its `/_ping` at `endpoint` within a second. */
export function dockerEngineAnswers(endpoint) {
  return new Promise((resolve) => {
    const answered = (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    };
    const ping =
      'socketPath' in endpoint
        ? request({ socketPath: endpoint.socketPath, path: '/_ping', timeout: 1000 }, answered)
        : request(new URL('/_ping', endpoint.url), { timeout: 1000 }, answered);
    ping.on('timeout', () => ping.destroy(new Error('timeout')));
    ping.on('error', () => resolve(false));
    ping.end();
  });
}

/** The URL with its password, if any, as `***`. */
export function withoutPassword(value) {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}

function reason(err) {
  return err instanceof Error ? err.message || String(err.code) : String(err);
}

/** Lines naming the PostgreSQL (version, URL), the pgmq and the RabbitMQ (version) in use. */
export async function describeTestServices(databaseUrl, brokerUrl) {
  const lines = [];
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query('SHOW server_version');
    lines.push(`PostgreSQL ${rows[0].server_version} at ${withoutPassword(databaseUrl)}`);
    lines.push(`pgmq: ${await whichPgmq(client, databaseUrl)}`);
  } catch (err) {
    lines.push(`PostgreSQL: cannot connect to ${withoutPassword(databaseUrl)}: ${reason(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const connection = await amqp.connect(brokerUrl, { timeout: 5000 });
    const version = String(connection.connection.serverProperties.version);
    await connection.close();
    lines.push(`RabbitMQ ${version} at ${withoutPassword(brokerUrl)}`);
  } catch (err) {
    lines.push(`RabbitMQ: cannot connect to ${withoutPassword(brokerUrl)}: ${reason(err)}`);
  }
  return lines;
}

/**
 * The extension or our SQL implementation, as installed in the migrated template the test
 * databases are cloned from (its pg_extension); before that template exists, what migration
 * 0002 will pick: the extension exactly when the server offers it. Looks inside the template
 * under the lock its cloners take, since a clone fails while anyone is connected to it.
 */
async function whichPgmq(client, databaseUrl) {
  const ours = 'ours (the SQL implementation in migrations/0002_pgmq.sql)';
  await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
  try {
    const { rows: templates } = await client.query(
      `SELECT datname FROM pg_database
        WHERE datname LIKE 'tasker\\_template\\_%' AND datname NOT LIKE '%\\_building'
        ORDER BY datname LIMIT 1`,
    );
    if (templates[0]) {
      const url = new URL(databaseUrl);
      url.pathname = `/${templates[0].datname}`;
      const template = new pg.Client({ connectionString: url.toString() });
      await template.connect();
      try {
        const { rows } = await template.query(
          `SELECT extversion FROM pg_extension WHERE extname = 'pgmq'`,
        );
        return rows[0] ? `the extension ${rows[0].extversion}` : ours;
      } finally {
        await template.end();
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
  }
  const { rows } = await client.query(
    `SELECT default_version FROM pg_available_extensions WHERE name = 'pgmq'`,
  );
  return rows[0] ? `the extension ${rows[0].default_version} (to be installed)` : ours;
}
