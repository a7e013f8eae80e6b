import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { startDaemon } from './daemon.ts';

/** Debian's `pgbouncer` package (1.18); .ci/run installs it. */
export const PGBOUNCER = process.env.PGBOUNCER_PATH ?? '/usr/sbin/pgbouncer';
/** The reason to skip, or false; never skipped under CI (.ci/run installs it), where a missing binary fails. */
export const pgbouncerMissing = () =>
  process.env.CI || existsSync(PGBOUNCER) ? false : `${PGBOUNCER} is missing: run apt-get update && apt-get install -y pgbouncer (.ci/run does)`;

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface PgBouncerOptions {
  /** session (the default) or transaction pooling. */
  mode?: 'session' | 'transaction';
  /** Startup parameters PgBouncer accepts and drops instead of refusing the connection. */
  ignoreStartupParameters?: readonly string[];
}

/**
 * A real PgBouncer on loopback in front of the database at `url`, as a team puts one in front of its
 * server, with its defaults otherwise; stopped and removed with the test. Returns `url` through it.
 * PgBouncer will not run as root, so under root it runs as nobody, its files in /tmp.
 */
export async function startPgBouncer(t: Teardown, url: string, options: PgBouncerOptions = {}): Promise<string> {
  const target = new URL(url);
  const user = decodeURIComponent(target.username);
  const password = decodeURIComponent(target.password);
  const database = target.pathname.slice(1);
  const asRoot = process.getuid?.() === 0;
  // Read by nobody under root: /tmp, not a TMPDIR that may be private to root.
  const dir = await mkdtemp(join(asRoot ? '/tmp' : tmpdir(), 'job-metrics-pgbouncer-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`;
  await writeFile(join(dir, 'users.txt'), `${quoted(user)} ${quoted(password)}\n`, { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${options.mode ?? 'session'}`,
      ...(options.ignoreStartupParameters ? [`ignore_startup_parameters = ${options.ignoreStartupParameters.join(',')}`] : []),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const [command, args] = asRoot ? ['runuser', ['-u', 'nobody', '--', PGBOUNCER]] : [PGBOUNCER, []];
  const { child, log } = startDaemon(t, command, [...args, join(dir, 'pgbouncer.ini')], dir);
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`pgbouncer did not start: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(port);
  return through.toString();
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
