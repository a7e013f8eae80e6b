import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabasePool } from 'slonik';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createDatabasePool } from '../../src/db/pool.ts';

export interface TestDatabase {
  url: string;
  dataDir: string;
  pool: DatabasePool;
  /**
   * False on a server the tests did not start (TEST_DATABASE_URL): it cannot be stopped, so tests
   * of a database outage skip there.
   */
  canStopServer: boolean;
  /** Restarts after `stopServer`, on the same port and data. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * TEST_DATABASE_URL: a PostgreSQL server of the operator's (e.g. Debian's postgresql-15), reached
 * as a role that may create databases; each test file gets a database of its own there, dropped
 * afterwards. Unset: an embedded server per test file (PG_MAJOR picks its version).
 */
const EXTERNAL_URL = process.env.TEST_DATABASE_URL || undefined;

/** Whether this process's test databases are embedded servers (so `canStopServer`, `dataDir`). */
export const EMBEDDED_SERVER = EXTERNAL_URL === undefined;

async function externalDatabase(t: Teardown, adminUrl: string): Promise<{ url: string }> {
  const name = `job_metrics_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  t.teardown(() => dropDatabase(adminUrl, name));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString() };
}

/**
 * DROP DATABASE … WITH (FORCE), retried while it may not terminate a backend in the database. A role
 * that is not a superuser may not terminate a superuser's backend, and an autovacuum worker busy in
 * the database is one: the drop fails until it finishes (seen on Debian's 15 after a 20k-row seed).
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
        return;
      } catch (error) {
        if ((error as pg.DatabaseError).routine !== 'TerminateOtherDBBackends' || attempt === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await client.end();
  }
}

/** The skip reason of a test that stops the database server. */
export const STOPS_SERVER = 'stops the database server: not on TEST_DATABASE_URL';
/** The skip reason of a test that finds the server by its data directory. */
export const READS_DATA_DIR = 'finds the server by its data directory: not on TEST_DATABASE_URL';

const unsupported = async () => {
  throw new Error('the server of TEST_DATABASE_URL cannot be stopped by a test (check canStopServer)');
};

/**
 * A real PostgreSQL for one test file: its own data directory and port (or its own database on
 * TEST_DATABASE_URL's server), migrated to the latest schema, removed when the file's tests end.
 */
export async function startTestDatabase(t: Teardown, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (EXTERNAL_URL) {
    const { url } = await externalDatabase(t, EXTERNAL_URL);
    if (options.migrate !== false) await migrate(url, { direction: 'up' });
    const pool = await createDatabasePool(url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
    t.teardown(() => pool.end());
    return { url, dataDir: '', pool, canStopServer: false, stopServer: unsupported, startServer: unsupported };
  }
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-test-'));
  let server = await startEmbeddedPostgres({ dir, ephemeral: true });
  const port = server.port;
  if (options.migrate !== false) await migrate(server.url, { direction: 'up' });
  const pool = await createDatabasePool(server.url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
  let running = true;
  t.teardown(async () => {
    await pool.end();
    if (running) await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: server.url,
    dataDir: dir,
    pool,
    canStopServer: true,
    async stopServer() {
      await server.stop();
      running = false;
    },
    async startServer() {
      server = await startEmbeddedPostgres({ dir, port, ephemeral: true });
      running = true;
    },
  };
}
