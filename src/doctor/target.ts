import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { describeTarget } from '../db/connection-url.ts';
import { resolveDataDir, runningPort, startEmbeddedPostgres } from '../db/embedded.ts';

export interface DatabaseTarget {
  url: string;
  /** Where the database is, for the report (never the password). */
  description: string;
  /** Stops the embedded server if this process started it. */
  release(): Promise<void>;
}

const EMBEDDED_DATABASE = 'job_metrics';

/**
 * DATABASE_URL, or else the embedded database in DATA_DIR: the running server's port when one runs
 * there (npm start), otherwise a server this process starts and stops again.
 */
export async function openTarget(config: Config): Promise<DatabaseTarget> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, description: describeTarget(config.databaseUrl), release: async () => {} };
  }
  const { dir } = resolveDataDir(config.dataDir);
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    throw new Error(`no DATABASE_URL and no embedded database in ${dir}: set DATABASE_URL, or run npm start once`);
  }
  const port = await runningPort(config.dataDir);
  if (port !== undefined) {
    const url = `postgres://postgres:postgres@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
    return { url, description: `embedded PostgreSQL in ${dir} (running, port ${port})`, release: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dir: config.dataDir, database: EMBEDDED_DATABASE });
  return {
    url: server.url,
    description: `embedded PostgreSQL in ${dir} (started for this check, stopped after)`,
    release: () => server.stop(),
  };
}
