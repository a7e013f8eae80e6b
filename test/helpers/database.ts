import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabasePool } from 'slonik';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createDatabasePool } from '../../src/db/pool.ts';

export interface TestDatabase {
  url: string;
  dataDir: string;
  pool: DatabasePool;
  /** Restarts after `stopServer`, on the same port and data. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * A real PostgreSQL for one test file: its own data directory and port, migrated to the latest
 * schema, removed when the file's tests end.
 */
export async function startTestDatabase(t: Teardown, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
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
