import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabasePool } from 'slonik';
import type { Config } from '../config.ts';
import { createDatabasePool } from '../db/pool.ts';

/**
 * DATABASE_URL, or else the embedded PostgreSQL that `npm start` runs in DATA_DIR (its port is the
 * fourth line of postmaster.pid), so the tools work on the demo data at once. `undefined`: neither.
 */
export async function findDatabaseUrl(config: Config): Promise<string | undefined> {
  if (config.databaseUrl) return config.databaseUrl;
  const pid = await readFile(join(config.dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const port = pid?.split('\n')[3]?.trim();
  return port && /^\d+$/.test(port) ? `postgres://postgres:postgres@127.0.0.1:${port}/job_metrics` : undefined;
}

/** Runs `work` on a pool that is closed afterwards; a database that cannot be reached is one clear line. */
export async function withPool<T>(url: string, config: Config, work: (pool: DatabasePool) => Promise<T>): Promise<T> {
  const where = URL.canParse(url) ? new URL(url).host : 'DATABASE_URL';
  const pool = await createDatabasePool(url, {
    statementTimeoutMs: config.statementTimeoutMs,
    connectionTimeoutMs: 5_000,
    maxPoolSize: 2,
  }).catch((error: Error) => {
    throw new Error(`cannot reach the database at ${where}: ${error.message}`);
  });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
