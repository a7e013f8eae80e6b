/**
 * npm run bench:rollup -- [--rows N] [--requests R]
 * Rollups at scale, on a fresh embedded PostgreSQL (fsync off, like the tests): loads N rows
 * (default 10M) over 365 days with the seed's shape, adds the rollups migration (its backfill is
 * timed), then measures, single client, sequential, no cache: /metrics/system and /metrics/worker/{name}
 * for 1…8760 h, the raw 365 d query against the rollup one, and ingest rows/s with and without triggers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { knownMigrations, migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { HistogramCache } from '../src/metrics/rollup/histogram-cache.ts';
import { readRollupRow } from '../src/metrics/rollup/rollup-metrics.ts';
import { verifyWindow } from '../src/metrics/rollup/verify.ts';
import { windowMetricsQuery } from '../src/metrics/window-metrics-query.ts';
import { startService } from './service.ts';
import { BENCH_WORKERS, BIG_WORKER, loadSql, SMALL_WORKER } from './lib/seed-shape.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' }, requests: { type: 'string', default: '200' } } });
const ROWS = Number(values.rows);
const REQUESTS = Number(values.requests);
const WORKERS = BENCH_WORKERS;
const BIG = BIG_WORKER;
const SMALL = SMALL_WORKER;
const WINDOWS = [1, 24, 168, 720, 8760];
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Spread over the 365 days before now(), in job id order. */
const yearSql = (from: number, to: number, insertedAt = `now() - make_interval(secs => 365 * 86400.0 * (${ROWS} - i + random()) / ${ROWS})`) =>
  loadSql(from, to, insertedAt);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function timeRequests(base: string, path: string, count: number) {
  for (let i = 0; i < 5; i++) await (await fetch(base + path)).arrayBuffer(); // warm-up
  const times: number[] = [];
  let meta = '';
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const response = await fetch(base + path);
    const body = (await response.json()) as { meta?: { method: string; rows: number } };
    times.push(performance.now() - start);
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    meta = body.meta ? `${body.meta.method}, ${body.meta.rows} rows read` : '';
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.at(-1)!, meta };
}

/** rows/s of INSERT statements of `batch` rows each, from `clients` connections, for `seconds`. */
async function ingestRate(url: string, batch: number, clients: number, seconds: number, firstJob: number) {
  let next = firstJob;
  let rows = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      while (performance.now() < end) {
        const from = next;
        next += batch;
        await client.query(`${yearSql(from, from + batch - 1, 'now()')} ON CONFLICT DO NOTHING`);
        rows += batch;
      }
      await client.end();
    }),
  );
  return rows / ((performance.now() - start) / 1000);
}

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-bench-'));
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const admin = new pg.Client({ connectionString: server.url });
try {
  const all = knownMigrations();
  const rollupIndex = all.findIndex((name) => name.endsWith('_create-job-rollups'));
  await migrate(server.url, { direction: 'up', count: rollupIndex });
  await admin.connect();
  await admin.query(`SET statement_timeout = 0`);
  const versions = (await admin.query(`SELECT version()`)).rows[0].version as string;
  let t0 = performance.now();
  for (let from = 1; from <= ROWS; from += 500_000) {
    await admin.query(yearSql(from, Math.min(ROWS, from + 499_999)));
    log(`loaded ${Math.min(ROWS, from + 499_999)} / ${ROWS}`);
  }
  const loadS = (performance.now() - t0) / 1000;
  // The window indexes issue 3 ships (same names, IF NOT EXISTS): raw edges and raw windows need them.
  t0 = performance.now();
  await admin.query(`CREATE INDEX IF NOT EXISTS idx_job_summaries_inserted_at ON job_execution_summaries (inserted_at, id)`);
  await admin.query(`CREATE INDEX IF NOT EXISTS idx_job_summaries_worker_inserted_at ON job_execution_summaries (worker, inserted_at, id)`);
  await admin.query(`VACUUM ANALYZE job_execution_summaries`);
  const indexS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await migrate(server.url, { direction: 'up' });
  const backfillS = (performance.now() - t0) / 1000;
  await admin.query('VACUUM ANALYZE job_rollups');
  await admin.query('VACUUM ANALYZE job_rollup_reasons');
  const size = (await admin.query(`
    SELECT (SELECT count(*) FROM job_rollups)::int AS rollup_rows, (SELECT count(*) FROM job_rollup_reasons)::int AS reason_rows,
           pg_size_pretty(pg_total_relation_size('job_rollups') + pg_total_relation_size('job_rollup_reasons')) AS rollup_size,
           pg_size_pretty(pg_total_relation_size('job_execution_summaries')) AS raw_size`)).rows[0];
  log(`load ${loadS.toFixed(0)} s, indexes ${indexS.toFixed(0)} s, rollup migration (backfill) ${backfillS.toFixed(1)} s, ${JSON.stringify(size)}`);

  const pool = await createDatabasePool(server.url, { statementTimeoutMs: 600_000, connectionTimeoutMs: 10_000 });
  // The service in its own process, as deployed: the client's loop must not count as the server's load.
  const service = await startService({ DATABASE_URL: server.url, STATEMENT_TIMEOUT_MS: '600000' });
  const address = service.base;
  const lines: string[] = [];
  for (const [label, path] of [
    ['system', '/metrics/system'],
    [`worker (big, 70 %)`, `/metrics/worker/${encodeURIComponent(BIG)}`],
    [`worker (small)`, `/metrics/worker/${encodeURIComponent(SMALL)}`],
  ] as const) {
    for (const hours of WINDOWS) {
      const r = await timeRequests(address, `${path}?hours=${hours}`, REQUESTS);
      lines.push(`| ${label} | ${hours} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.meta} |`);
      log(lines.at(-1)!);
    }
  }
  const compare = await timeRequests(address, '/metrics/system?hours=8760&compare=previous', REQUESTS);
  lines.push(`| system, compare=previous | 8760 | ${compare.p50.toFixed(1)} | ${compare.p99.toFixed(1)} | ${compare.max.toFixed(1)} | ${compare.meta} |`);
  for (const [hours, bucket] of [[24, 'hour'], [720, 'hour'], [8760, 'day']] as const) {
    for (const [label, path] of [['system', '/metrics/system'], ['worker (big, 70 %)', `/metrics/worker/${encodeURIComponent(BIG)}`]] as const) {
      const r = await timeRequests(address, `${path}/timeseries?hours=${hours}&bucket=${bucket}`, REQUESTS);
      lines.push(`| ${label} timeseries, by ${bucket} | ${hours} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${hours <= 720 ? hours + 1 : Math.ceil(hours / 24) + 1} buckets |`);
      log(lines.at(-1)!);
    }
  }
  const workers = await timeRequests(address, '/metrics/workers', 5);
  lines.push(`| /metrics/workers (not from rollups) | – | ${workers.p50.toFixed(1)} | ${workers.p99.toFixed(1)} | ${workers.max.toFixed(1)} | 5 requests |`);
  await service.stop();

  // The same question through the raw query (window-metrics-query.ts) and the rollup query, same pool, same run.
  const timeSlonik = async (run: () => Promise<unknown>, runs: number) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  };
  const rawMs = await timeSlonik(() => pool.one(windowMetricsQuery(8760)), 3);
  // An empty cache each time: every histogram sent and summed, the cost of a window asked first.
  const rollupMs = await timeSlonik(() => readRollupRow(pool, new HistogramCache(), { hours: 8760 }), 21);
  log(`raw 365 d ${rawMs.toFixed(0)} ms, rollup 365 d ${rollupMs.toFixed(2)} ms`);

  // Ingest: statements of 1000 rows (the ingest endpoint's shape) and of 1 row (a telemetry handler), 2 clients.
  // "With" includes the fold, run every second beside the writers as the service does (src/metrics/rollup/fold-loop.ts).
  const withFolding = async (run: () => Promise<number>) => {
    let running = true;
    let folded = 0;
    const folder = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, 1_000));
        folded += await foldPending(pool);
      }
    })();
    const rate = await run();
    running = false;
    await folder;
    const pendingLeft = Number((await admin.query(`SELECT count(*) AS n FROM job_rollup_pending`)).rows[0].n);
    const t0 = performance.now();
    folded += await foldPending(pool);
    return { rate, folded, pendingLeft, drainMs: performance.now() - t0 };
  };
  const ingest: string[] = [];
  let job = ROWS + 1_000_000;
  for (const batch of [1000, 1]) {
    const seconds = 15;
    const withTriggers = await withFolding(() => ingestRate(server.url, batch, 2, seconds, (job += 10_000_000)));
    await admin.query(`ALTER TABLE job_execution_summaries DISABLE TRIGGER USER`);
    const without = await ingestRate(server.url, batch, 2, seconds, (job += 10_000_000));
    // Rows no trigger saw are in no rollup: taken out again (no trigger sees that either), so the
    // oracle below compares the rollups with the rows they were meant to count.
    await admin.query(`DELETE FROM job_execution_summaries WHERE job_id >= $1 AND job_id < $2`, [job, job + 10_000_000]);
    await admin.query(`ALTER TABLE job_execution_summaries ENABLE TRIGGER USER`);
    ingest.push(
      `| ${batch} | ${without.toFixed(0)} | ${withTriggers.rate.toFixed(0)} | ${((1 - withTriggers.rate / without) * 100).toFixed(0)} % ` +
        `| ${withTriggers.folded} rows folded; ${withTriggers.pendingLeft} pending at the end, folded in ${withTriggers.drainMs.toFixed(0)} ms |`,
    );
    log(ingest.at(-1)!);
  }
  const drift = await verifyWindow(pool, 8760);
  log(`after ingest, 365 d system window against the raw oracle: ${drift.length === 0 ? 'equal' : drift.join('; ')}`);
  if (drift.length > 0) process.exitCode = 1;
  await pool.end();

  console.log(`
${versions}
rows: ${ROWS} over 365 days, ${WORKERS} workers; load ${loadS.toFixed(0)} s, window indexes ${indexS.toFixed(0)} s, rollup migration with backfill ${backfillS.toFixed(1)} s
rollups: ${size.rollup_rows} stats rows + ${size.reason_rows} reason rows, ${size.rollup_size} (raw table with indexes ${size.raw_size})

| endpoint | hours | p50 ms | p99 ms | max ms | meta |
|---|---|---|---|---|---|
${lines.join('\n')}

365 d system window, query alone: raw (window-metrics-query.ts, median of 3) ${rawMs.toFixed(0)} ms; rollups (median of 21) ${rollupMs.toFixed(2)} ms → ${(rawMs / rollupMs).toFixed(0)}× faster

| rows per INSERT | rows/s without triggers | rows/s with triggers and the fold | slower | fold |
|---|---|---|---|---|
${ingest.join('\n')}
`);
} finally {
  await admin.end().catch(() => {});
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
