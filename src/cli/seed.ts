/**
 * npm run seed -- --rows N [--days D] [--workers W]
 * Appends N synthetic executions (src/demo/synthetic-data.ts) to DATABASE_URL, or — without it — to
 * the embedded database in DATA_DIR (the running one if `npm start` holds it, else started,
 * migrated, seeded and stopped here).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { attachEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createDatabasePool } from '../db/pool.ts';
import { seedSyntheticRows } from '../demo/synthetic-data.ts';
import { redactUrl } from '../logger.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run seed -- --rows N [--days D (default 90)] [--workers W (default 12)]';

function positive(name: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  if (raw === undefined || !/^[1-9][0-9]*$/.test(raw)) throw new Error(`--${name} must be a positive integer. ${USAGE}`);
  return Number(raw);
}

await runCli(async () => {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, days: { type: 'string' }, workers: { type: 'string' } },
    strict: true,
  });
  const rows = positive('rows', values.rows);
  const days = positive('days', values.days, 90);
  const workers = positive('workers', values.workers, 12);
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await attachEmbeddedPostgres(config.dataDir);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    if (embedded?.started) await migrate(url, { direction: 'up' });
    const pool = await createDatabasePool(url, { statementTimeoutMs: 600_000, connectionTimeoutMs: 10_000 });
    try {
      console.log(`seeding ${rows.toLocaleString('en')} rows over ${days} days, ${workers} workers into ${redactUrl(url)}`);
      const started = performance.now();
      const result = await seedSyntheticRows(pool, {
        rows,
        days,
        workers,
        onProgress: (done, total) => {
          const seconds = (performance.now() - started) / 1000;
          console.log(`  ${done.toLocaleString('en')} / ${total.toLocaleString('en')} rows, ${Math.round(done / seconds).toLocaleString('en')} rows/s`);
        },
      });
      console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s: job ids ${result.firstJobId}…${result.lastJobId}`);
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.stop();
  }
});
