/**
 * npm run bench:retention -- [--rows N]
 * Pruning a day of N rows (default 1M) from a table holding that day and half a day more: rows/s,
 * concurrent ingest (1,000-row INSERTs) and reads (/metrics/system 24 h and 168 h through the
 * repository) before and during the prune, and the table and index sizes before, after the prune
 * (which vacuums) and after the next day's rows are inserted into the freed space. Prints markdown
 * for docs/BENCHMARKS.md ("Retention").
 */
import { parseArgs } from 'node:util';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { createMetricsRepository } from '../src/metrics/metrics-repository.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { pruneRawRows } from '../src/retention/prune.ts';
import { BENCH_ROOT, median } from './lib/seeded-database.ts';
import { machineLine } from './machine.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(values.rows);

/** `count` rows spread evenly over [now − fromH hours, now − toH hours), the seed's shape roughly. */
let seeded = 0;
const insertSpread = (pool: DatabasePool, count: number, fromH: number, toH: number) => {
  const first = 10_000_000_000 + seeded; // past any demo or earlier rows
  seeded += count;
  return pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, attempt, worker, state, results, duration_ms, inserted_at)
    SELECT ${first}::bigint + g, 1, 'Worker.' || (g % 12),
      (ARRAY['cancelled','cancelled','cancelled','cancelled','completed','retryable','discarded','snoozed'])[1 + g % 8],
      CASE WHEN g % 5 = 0 THEN '{}'::jsonb ELSE jsonb_build_object('cancel_reason', 'reason ' || (g % 7)) END,
      ((g::bigint * 7919) % 30000)::int,
      now() - ${fromH}::float8 * interval '1 hour' + (g::float8 / ${count}) * ${fromH - toH}::float8 * interval '1 hour'
    FROM generate_series(1, ${count}) g`);
};

const Sizes = z.object({ table_mb: z.number(), indexes_mb: z.number(), rows: z.number() });
const sizes = (pool: DatabasePool) => pool.one(sql.type(Sizes)`
  SELECT round(pg_table_size('job_execution_summaries') / 1048576.0)::float8 AS table_mb,
    round(pg_indexes_size('job_execution_summaries') / 1048576.0)::float8 AS indexes_mb,
    (SELECT count(*) FROM job_execution_summaries)::int AS rows`);

let nextJob = 1;
/** Inserts 1,000-row batches until `until` resolves; returns rows/s. */
async function ingest(pool: DatabasePool, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.then(() => (done = true));
  let rows = 0;
  const started = performance.now();
  while (!done) {
    const base = 1_000_000_000 + nextJob;
    nextJob += 1000;
    await pool.query(sql.unsafe`
      INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms)
      SELECT ${base} + g, 'Worker.' || (g % 12), 'completed', g FROM generate_series(0, 999) g`);
    rows += 1000;
  }
  return rows / ((performance.now() - started) / 1000);
}

/** Asks the two windows in turn until `until` resolves; returns each one's median and p95 ms. */
async function read(pool: DatabasePool, until: Promise<unknown>) {
  const metrics = createMetricsRepository(pool, { shareReads: false, retentionDays: 1 });
  let done = false;
  void until.then(() => (done = true));
  const times: number[] = [];
  while (!done) {
    for (const hours of [24, 168]) {
      const started = performance.now();
      await metrics.systemMetrics(hours);
      times.push(performance.now() - started);
    }
  }
  const sorted = times.sort((a, b) => a - b);
  return { median: median(sorted), p95: sorted[Math.floor(sorted.length * 0.95)] ?? 0, n: sorted.length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = join(BENCH_ROOT, 'pg-retention');
await rm(dir, { recursive: true, force: true });
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const lines: string[] = [];
const log = (line: string) => {
  console.log(line);
  lines.push(line);
};
try {
  await migrate(server.url, { direction: 'up' });
  const pool = await createDatabasePool(server.url, { statementTimeoutMs: 3_600_000, connectionTimeoutMs: 60_000 });
  // The day to prune (26–50 h back: all before a 1-day horizon) and half a day that stays.
  for (let i = 0; i < 10; i++) await insertSpread(pool, ROWS / 10, 50 - 2.4 * i, 50 - 2.4 * (i + 1));
  await insertSpread(pool, ROWS / 2, 12, 0.1);
  await foldPending(pool);
  await pool.query(sql.unsafe`VACUUM (ANALYZE) job_execution_summaries`);
  const before = await sizes(pool);
  log(`${machineLine()}`);
  log(`- table: ${before.rows.toLocaleString('en')} rows, ${before.table_mb} MB + ${before.indexes_mb} MB indexes`);

  const quiet = { ingest: await ingest(pool, sleep(5_000)), read: await read(pool, sleep(5_000)) };
  log(`- quiet: ingest ${Math.round(quiet.ingest).toLocaleString('en')} rows/s; reads (24 h, 168 h) median ${quiet.read.median.toFixed(1)} ms, p95 ${quiet.read.p95.toFixed(1)} ms`);

  const started = performance.now();
  const prune = pruneRawRows(pool, 1);
  const [pruned, busyIngest, busyRead] = await Promise.all([prune, ingest(pool, prune), read(pool, prune)]);
  const seconds = (performance.now() - started) / 1000;
  log(`- prune (batches of 10,000, then VACUUM): ${pruned.rows.toLocaleString('en')} rows in ${seconds.toFixed(1)} s = ${Math.round(pruned.rows / seconds).toLocaleString('en')} rows/s, ${pruned.batches} batches`);
  log(`- during the prune: ingest ${Math.round(busyIngest).toLocaleString('en')} rows/s (${((100 * busyIngest) / quiet.ingest).toFixed(0)} % of quiet); reads median ${busyRead.median.toFixed(1)} ms, p95 ${busyRead.p95.toFixed(1)} ms (${busyRead.n} reads)`);
  const after = await sizes(pool);
  log(`- after prune + VACUUM: ${after.rows.toLocaleString('en')} rows, ${after.table_mb} MB + ${after.indexes_mb} MB indexes (space kept for reuse)`);
  for (let i = 0; i < 10; i++) await insertSpread(pool, ROWS / 10, 0.09 - 0.009 * i, 0.09 - 0.009 * (i + 1));
  await foldPending(pool);
  const refilled = await sizes(pool);
  log(`- after the next ${ROWS.toLocaleString('en')} rows: ${refilled.rows.toLocaleString('en')} rows, ${refilled.table_mb} MB + ${refilled.indexes_mb} MB indexes`);
  await pool.end();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
console.log('\n' + lines.join('\n'));
process.exit(0);
