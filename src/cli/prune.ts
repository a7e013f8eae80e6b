/**
 * npm run prune
 * Deletes raw rows older than RETENTION_DAYS from DATABASE_URL (or the embedded database in
 * DATA_DIR), in batches; the rollups keep their counts. For cron, when no service prunes
 * (RETENTION_PRUNE_INTERVAL_MS=0) — running both is safe: one pruner works at a time.
 */
import { loadConfig } from '../config.ts';
import { attachEmbeddedPostgres } from '../db/embedded.ts';
import { createDatabasePool } from '../db/pool.ts';
import { pruneRawRows } from '../retention/prune.ts';
import { runCli } from './run-cli.ts';

await runCli(async () => {
  if (process.argv.length > 2) throw new Error('usage: npm run prune   (reads RETENTION_DAYS and DATABASE_URL)');
  const config = loadConfig();
  if (config.retentionDays === undefined) throw new Error('RETENTION_DAYS is not set: every raw row is kept, nothing to prune');
  const embedded = config.databaseUrl ? undefined : await attachEmbeddedPostgres(config.dataDir);
  try {
    const pool = await createDatabasePool(config.databaseUrl ?? embedded!.url, {
      statementTimeoutMs: 600_000,
      connectionTimeoutMs: 10_000,
      maxPoolSize: 1,
    });
    try {
      const started = performance.now();
      const { rows, batches } = await pruneRawRows(pool, config.retentionDays);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        rows < 0
          ? 'another pruner is at work; nothing done'
          : `pruned ${rows} raw rows older than ${config.retentionDays} days in ${batches} batches, ${seconds} s (the rollups keep their counts)`,
      );
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.stop();
  }
});
process.exit(process.exitCode ?? 0);
