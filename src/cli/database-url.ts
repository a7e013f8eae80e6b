import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabasePool } from 'slonik';
import type { Config } from '../config.ts';
import { describeTarget } from '../db/connection-url.ts';
import { attachEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createDatabasePool } from '../db/pool.ts';

export interface Database {
  url: string;
  /** Stops the embedded server if this process started it. */
  release(): Promise<void>;
}

/**
 * DATABASE_URL, or else the embedded database in DATA_DIR that `npm start` or `npm run seed` made —
 * the running server, or one started for this command — as `npm run seed` finds it. `undefined`
 * when there is neither: a read-only tool never creates a database.
 */
export async function findDatabase(config: Config): Promise<Database | undefined> {
  if (config.databaseUrl) return { url: config.databaseUrl, release: async () => {} };
  if (!existsSync(join(config.dataDir, 'PG_VERSION'))) return undefined;
  const embedded = await attachEmbeddedPostgres(config.dataDir);
  if (embedded.started) await migrate(embedded.url, { direction: 'up' });
  return { url: embedded.url, release: embedded.stop };
}

/** Runs `work` on a pool that is closed afterwards; a database that cannot be reached is one clear line. */
export async function withPool<T>(database: Database, config: Config, work: (pool: DatabasePool) => Promise<T>): Promise<T> {
  try {
    const where = describeTarget(database.url);
    const pool = await createDatabasePool(database.url, {
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
  } finally {
    await database.release();
  }
}
