import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { knownMigrations, migrate } from '../../src/db/migrate.ts';
import { loadSql } from './seed-shape.ts';

export interface YearDatabase {
  url: string;
  /** A connection of the bench's own, closed by `stop`. */
  client: pg.Client;
  stop(): Promise<void>;
}

/**
 * A fresh embedded PostgreSQL (no fsync: thrown away by `stop`) with `rows` rows of the seed's shape
 * spread over the past year, loaded by one INSERT before the rollups exist and then migrated to the
 * latest schema, so the rollups' backfill counts them as an install on a full table does: faster
 * than `npm run seed` through the triggers, and the table is vacuumed and analysed.
 */
export async function yearDatabase(rows: number, name: string): Promise<YearDatabase> {
  const dir = await mkdtemp(join(tmpdir(), `job-metrics-${name}-`));
  const server = await startEmbeddedPostgres({ dir, ephemeral: true });
  const client = new pg.Client({ connectionString: server.url });
  const stop = async () => {
    await client.end().catch(() => {});
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await client.connect();
    const beforeRollups = knownMigrations().findIndex((n) => n.endsWith('_create-job-rollups'));
    await migrate(server.url, { direction: 'up', count: beforeRollups });
    await client.query(loadSql(1, rows, `now() - make_interval(secs => 365 * 86400.0 * (${rows} - i + random()) / ${rows})`));
    await client.query('VACUUM ANALYZE job_execution_summaries');
    await migrate(server.url, { direction: 'up' });
    return { url: server.url, client, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
