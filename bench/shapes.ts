/**
 * npm run bench:shapes -- [--rows N] [--shape uniform,burst,late,backlog] [--requests R] [--seconds S] [--report FILE]
 * Every window, however the rows fall in time. A fresh embedded PostgreSQL (fsync off) gets N rows
 * (default 10M) over 365 days with the seed's shape (bench/lib/seed-shape.ts), the window indexes and
 * the rollup migrations; then the shapes are added one after another, each by plain SQL while the
 * service runs (so they accumulate: "late" also holds the burst):
 * - uniform: nothing more;
 * - burst: N/10 rows in the hour before now(), one INSERT (timed: a statement this big folds its own
 *   rows, migration 1764040000000); reads are timed while any fold catches up, then once it has;
 * - late: N/20 rows stamped 1 h to 7 days in the past and 2,000 up to 5 minutes in the future;
 * - backlog (not in the default): an outage of every folder (the bench holds the fold lock) while
 *   N/10 rows arrive in the last hour in statements of 10,000 rows, which leave their rows pending;
 *   reads are timed while the fold catches up (≥ 500k rows pending at 10M), then once it has.
 * For each shape: every window of /metrics/system and /metrics/worker/{name} (big and small worker)
 * and the time series, and the 404 of a worker no row names, one client after another (p95 of R
 * requests each, coalescing off); then 10 connections asking random different windows for S
 * seconds, coalescing off and on; then the answers against the raw oracle
 * (src/metrics/rollup/verify.ts) and a time series against a GROUP BY.
 * Writes its section of docs/BENCHMARKS.md and docs/BENCHMARKS-shapes.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { knownMigrations, migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { FOLD_LOCK_KEY } from '../src/metrics/rollup/rollup-upserts.ts';
import { verifyWindow } from '../src/metrics/rollup/verify.ts';
import { timeseriesQuery } from '../src/metrics/timeseries-query.ts';
import { replaceSection } from './report.ts';
import { machine } from './lib/seeded-database.ts';
import { BIG_WORKER, loadSql, SMALL_WORKER } from './lib/seed-shape.ts';
import { startScript, startService } from './service.ts';
import { breakdownTable, forSeconds, load, quantile, randomQuestion, slowestTable, summarise, timed, type LoadSummary, type Timed } from './lib/random-windows.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    shape: { type: 'string', default: 'uniform,burst,late' },
    requests: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    report: { type: 'string', default: 'docs/BENCHMARKS.md' },
  },
});
const ROWS = Number(values.rows);
const SHAPES = values.shape.split(',');
const REQUESTS = Number(values.requests);
const SECONDS = Number(values.seconds);
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

const WINDOWS = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 1440, 2160, 4380, 8760];
const SCOPES = [
  ['system', '/metrics/system'],
  ['big worker', `/metrics/worker/${encodeURIComponent(BIG_WORKER)}`],
  ['small worker', `/metrics/worker/${encodeURIComponent(SMALL_WORKER)}`],
] as const;
const SERIES = [
  ['system', 24, 'hour'], ['system', 168, 'hour'], ['system', 720, 'hour'], ['system', 8760, 'day'],
  ['big worker', 24, 'hour'], ['big worker', 720, 'day'], ['small worker', 168, 'hour'],
] as const;
const pathOf = (scope: string) => SCOPES.find(([name]) => name === scope)![1];
const UNKNOWN_WORKER = 'Bench.NeverSeenWorker';

const askRandom = () => randomQuestion(SCOPES);
const crowd = async (base: string, clients: number, until: () => boolean | Promise<boolean>, question: () => readonly [string, string] = askRandom) => {
  const { runs, seconds } = await load(base, clients, until, question);
  return { summary: summarise(runs, seconds), runs };
};

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-shapes-'));
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const admin = new pg.Client({ connectionString: server.url });
const children: { stop(): Promise<unknown> }[] = [];
let nextJob = ROWS + 1;
const insert = async (rows: number, insertedAt: string) => {
  await admin.query(loadSql(nextJob, nextJob + rows - 1, insertedAt));
  nextJob += rows;
};
const pending = async () => Number((await admin.query('SELECT count(*) AS n FROM job_rollup_pending')).rows[0].n);
/** Waits for the service's folder to drain the pending rows (ten minutes at most: a stuck fold is a result too). */
const drained = async () => {
  const started = performance.now();
  while ((await pending()) > 0) {
    if (performance.now() - started > 600_000) throw new Error(`the fold did not drain in 10 minutes: ${await pending()} rows pending`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return (performance.now() - started) / 1000;
};
/**
 * What autovacuum works on while a shape runs, with when (seconds from the shape's start): on two
 * cores a vacuum of the big table takes one from the service (run 13's backlog, docs/BENCHMARKS.md).
 */
const watcher = new pg.Client({ connectionString: server.url });
let vacuums = new Map<string, { from: number; to: number }>();
let shapeStarted = performance.now();
const watchVacuums = setInterval(() => {
  watcher
    .query(`SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND query <> ''`)
    .then(({ rows }) => {
      const at = (performance.now() - shapeStarted) / 1000;
      for (const { query } of rows as { query: string }[]) {
        const seen = vacuums.get(query);
        vacuums.set(query, { from: seen?.from ?? at, to: at });
      }
    })
    .catch(() => {});
}, 500);
const vacuumsSeen = () =>
  vacuums.size === 0 ? 'none' : [...vacuums].map(([query, { from, to }]) => `${query.replace(/^autovacuum: /, '')} (${from.toFixed(0)}–${to.toFixed(0)} s)`).join('; ');
try {
  await admin.connect();
  await watcher.connect();
  await admin.query('SET statement_timeout = 0');
  const all = knownMigrations();
  await migrate(server.url, { direction: 'up', count: all.findIndex((name) => name.endsWith('_create-job-rollups')) });
  let t0 = performance.now();
  for (let from = 1; from <= ROWS; from += 500_000) {
    const to = Math.min(ROWS, from + 499_999);
    await admin.query(loadSql(from, to, `now() - make_interval(secs => 365 * 86400.0 * (${ROWS} - i + random()) / ${ROWS})`));
    log(`loaded ${to} / ${ROWS}`);
  }
  await admin.query('CREATE INDEX IF NOT EXISTS idx_job_summaries_inserted_at ON job_execution_summaries (inserted_at, id)');
  await admin.query('CREATE INDEX IF NOT EXISTS idx_job_summaries_worker_inserted_at ON job_execution_summaries (worker, inserted_at, id)');
  await admin.query('VACUUM ANALYZE job_execution_summaries');
  const loadS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await migrate(server.url, { direction: 'up' });
  const migrateS = (performance.now() - t0) / 1000;
  await admin.query('VACUUM ANALYZE job_rollups');
  await admin.query('VACUUM ANALYZE job_rollup_reasons');
  log(`load + indexes ${loadS.toFixed(0)} s, rollup migrations (backfill) ${migrateS.toFixed(0)} s`);

  const env = { DATABASE_URL: server.url, LOG_LEVEL: 'warn' };
  const on = await startService({ ...env, METRICS_COALESCE: 'on' });
  children.push(on);
  const off = await startService({ ...env, METRICS_COALESCE: 'off' });
  children.push(off);
  const hello = await startScript(new URL('./lib/hello-server.ts', import.meta.url).pathname, {});
  children.push(hello);
  const pool = await createDatabasePool(server.url, { statementTimeoutMs: 600_000, connectionTimeoutMs: 10_000 });
  const info = await machine(server.url);
  const sections: string[] = [];
  const results: Record<string, unknown> = {};

  for (const shape of SHAPES) {
    log(`shape ${shape}`);
    vacuums = new Map();
    shapeStarted = performance.now();
    let catchUp: LoadSummary | undefined;
    let catchUpRuns: Timed[] = [];
    let catchUpPending = 0;
    let drainS = 0;
    let insertS = 0;
    if (shape === 'burst' || shape === 'backlog') {
      const burst = Math.round(ROWS / 10);
      t0 = performance.now();
      if (shape === 'burst') {
        await insert(burst, `now() - make_interval(secs => 3600 * random())`);
      } else {
        // No folder can run while the bench holds the fold lock: the rows pile up as in an outage.
        const outage = new pg.Client({ connectionString: server.url });
        await outage.connect();
        await outage.query(`SELECT pg_advisory_lock(${FOLD_LOCK_KEY})`);
        for (let done = 0; done < burst; done += 10_000) await insert(Math.min(10_000, burst - done), `now() - make_interval(secs => 3600 * random())`);
        await outage.end();
      }
      insertS = (performance.now() - t0) / 1000;
      catchUpPending = await pending();
      const threshold = Math.min(500_000, Math.round(catchUpPending / 2));
      t0 = performance.now();
      if (catchUpPending >= 1_000) ({ summary: catchUp, runs: catchUpRuns } = await crowd(off.base, 2, async () => (await pending()) < threshold));
      await drained();
      drainS = (performance.now() - t0) / 1000;
      log(`${shape} of ${burst} in ${insertS.toFixed(1)} s: ${catchUpPending} pending; while ≥ ${threshold}: ${JSON.stringify(catchUp)}; drained in ${drainS.toFixed(1)} s`);
    } else if (shape === 'late') {
      await insert(Math.round(ROWS / 20), `now() - make_interval(secs => 3600 + 6 * 86400 * random())`);
      await insert(2_000, `now() + make_interval(secs => 300 * random())`);
      drainS = await drained();
      log(`late rows folded in ${drainS.toFixed(1)} s`);
    } else if (shape !== 'uniform') {
      throw new Error(`unknown shape ${shape}: uniform, burst, late or backlog`);
    }

    // One client, one question after another, coalescing off: p95 of REQUESTS each.
    const lines: string[] = [];
    const singles: { label: string; p95: number; max: number; method: string }[] = [];
    const one = async (label: string, path: string, expected = 200) => {
      await timed(off.base, [label, path]);
      const runs = [];
      for (let i = 0; i < REQUESTS; i++) runs.push(await timed(off.base, [label, path]));
      const bad = runs.filter((r) => r.status !== expected).length;
      const method = runs.at(-1)!.meta ? `${runs.at(-1)!.meta!.method}, ${runs.at(-1)!.meta!.rows} rows` : expected === 200 ? '' : `${expected}`;
      const times = runs.map((r) => r.ms);
      singles.push({ label, p95: quantile(times, 0.95), max: Math.max(...times), method });
      lines.push(`| ${label} | ${quantile(times, 0.5).toFixed(1)} | ${quantile(times, 0.95).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${method}${bad ? `, ${bad} not ${expected}` : ''} |`);
    };
    for (const [scope, path] of SCOPES) for (const hours of WINDOWS) await one(`${scope} ${hours} h`, `${path}?hours=${hours}`);
    for (const [scope, hours, bucket] of SERIES) await one(`${scope} timeseries ${hours} h by ${bucket}`, `${pathOf(scope)}/timeseries?hours=${hours}&bucket=${bucket}`);
    // A name no row has: its 404 must not cost a read of the table (generic plans once did, 0.8 s).
    await one('unknown worker 24 h', `/metrics/worker/${UNKNOWN_WORKER}?hours=24`, 404);
    await one('unknown worker timeseries 24 h by hour', `/metrics/worker/${UNKNOWN_WORKER}/timeseries?hours=24&bucket=hour`, 404);
    const worst = singles.reduce((a, b) => (b.p95 > a.p95 ? b : a));
    log(`one client: worst p95 ${worst.p95.toFixed(1)} ms (${worst.label})`);

    // Ten connections, random different windows: coalescing cannot help; then with it on.
    const { runs: crowdOffRuns, summary: crowdOff } = await crowd(off.base, 10, forSeconds(SECONDS));
    const { summary: crowdOn } = await crowd(on.base, 10, forSeconds(SECONDS));
    const { summary: helloCrowd } = await crowd(hello.base, 10, forSeconds(Math.min(SECONDS, 5)), () => ['hello', '/hello']);
    log(`10 connections: off ${JSON.stringify(crowdOff)}; on ${JSON.stringify(crowdOn)}; hello ${helloCrowd.per_s.toFixed(0)} req/s`);

    // The answers against the raw oracle, in one snapshot each; a time series against a GROUP BY.
    const checks: string[] = [];
    for (const [scope, worker] of [['system', undefined], ['big worker', BIG_WORKER], ['small worker', SMALL_WORKER]] as const) {
      for (const hours of [1, 24, 168, 8760]) {
        const found = await verifyWindow(pool, hours, worker);
        checks.push(found.length === 0 ? `${scope} ${hours} h equal` : `${scope} ${hours} h: ${found.join('; ')}`);
      }
    }
    // In one snapshot too: the answer over HTTP reports its bounds in whole ms, so a row within the
    // ms after either bound (future-stamped rows lie near now()) can make that comparison differ.
    const seriesOk = await pool.transaction(async (tx) => {
      await tx.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
      const points = await tx.any(timeseriesQuery(24, 'hour'));
      const oracle = await tx.any(sql.type(z.object({ start: z.string(), n: z.number() }))`
        SELECT date_trunc('hour', inserted_at, 'UTC') AS start, count(*)::int AS n FROM job_execution_summaries
        WHERE inserted_at > now() - interval '24 hours' AND inserted_at <= now() GROUP BY 1`);
      const byHour = new Map(oracle.map((r) => [new Date(r.start).toISOString(), r.n]));
      return points.every((p) => (byHour.get(new Date(p.start).toISOString()) ?? 0) === Number(p.executions));
    });
    checks.push(`system time series 24 h by hour ${seriesOk ? 'equal' : 'DIFFERS'}`);
    const mismatches = checks.filter((c) => !c.endsWith('equal') && !c.includes('equal ('));
    log(mismatches.length ? `ORACLE MISMATCH: ${mismatches.join(' | ')}` : 'every answer checked equals the raw oracle');

    log(`autovacuum during the shape: ${vacuumsSeen()}`);
    results[shape] = { singles, crowdOff, crowdOn, hello: helloCrowd.per_s, insertS, catchUp, catchUpPending, drainS, checks, autovacuum: Object.fromEntries(vacuums) };
    const ratio = (x: number) => `${((x / helloCrowd.per_s) * 100).toFixed(1)} %`;
    sections.push(
      `### ${shape}${shape === 'burst' ? ` (+${Math.round(ROWS / 10).toLocaleString('en')} rows in the last hour, one INSERT)` : shape === 'backlog' ? ` (+${Math.round(ROWS / 10).toLocaleString('en')} rows in the last hour, 10,000 a statement, no folder running)` : shape === 'late' ? ` (+${Math.round(ROWS / 20).toLocaleString('en')} rows 1 h–7 d late, 2,000 up to 5 min ahead)` : ''}`,
      '',
      `Load average ${(await machine(server.url)).load} after the shape's reads. Autovacuum during the shape (seconds from its start): ${vacuumsSeen()}.`,
      '',
      ...(insertS ? [`Inserted in ${insertS.toFixed(1)} s; ${catchUpPending.toLocaleString('en')} rows pending right after.`, ''] : []),
      ...(catchUp && catchUp.requests > 0
        ? [
            `While the fold caught up (${catchUpPending.toLocaleString('en')} rows pending, measured while ≥ ${Math.min(500_000, Math.round(catchUpPending / 2)).toLocaleString('en')}; drained in ${drainS.toFixed(1)} s): ` +
              `2 clients, random windows, ${catchUp.requests} requests, p50 ${catchUp.p50.toFixed(0)} ms, p95 ${catchUp.p95.toFixed(0)} ms, max ${catchUp.max.toFixed(0)} ms, not 200: ${catchUp.non_200}.`,
            '',
            '<details><summary>while the fold caught up: by question, and the slowest requests</summary>',
            '',
            ...breakdownTable(catchUpRuns),
            '',
            ...slowestTable(catchUpRuns, 5),
            '',
            '</details>',
            '',
          ]
        : []),
      `One client (coalescing off), ${REQUESTS} requests each: worst p95 **${worst.p95.toFixed(1)} ms** (${worst.label}).`,
      '',
      '| 10 connections, random windows 1–8760 h | req/s | share of hello-world | p50 ms | p95 ms | p99 ms | max ms | not 200 |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      `| coalescing off | ${crowdOff.per_s.toFixed(0)} | ${ratio(crowdOff.per_s)} | ${crowdOff.p50.toFixed(1)} | ${crowdOff.p95.toFixed(1)} | ${crowdOff.p99.toFixed(1)} | ${crowdOff.max.toFixed(0)} | ${crowdOff.non_200} |`,
      `| coalescing on | ${crowdOn.per_s.toFixed(0)} | ${ratio(crowdOn.per_s)} | ${crowdOn.p50.toFixed(1)} | ${crowdOn.p95.toFixed(1)} | ${crowdOn.p99.toFixed(1)} | ${crowdOn.max.toFixed(0)} | ${crowdOn.non_200} |`,
      `| hello-world route (ceiling) | ${helloCrowd.per_s.toFixed(0)} | 100 % | ${helloCrowd.p50.toFixed(1)} | ${helloCrowd.p95.toFixed(1)} | ${helloCrowd.p99.toFixed(1)} | ${helloCrowd.max.toFixed(0)} | ${helloCrowd.non_200} |`,
      '',
      `Raw oracle at the end: ${mismatches.length ? `**${mismatches.join('; ')}**` : `all ${checks.length} checks equal (counts, reasons, avg, max exact; percentiles within the bound)`}.`,
      '',
      '<details><summary>10 connections, coalescing off: where the time went</summary>',
      '',
      ...breakdownTable(crowdOffRuns),
      '',
      '</details>',
      '',
      '<details><summary>every URL, one client</summary>',
      '',
      '| URL | p50 ms | p95 ms | max ms | meta |',
      '|---|---:|---:|---:|---|',
      ...lines,
      '',
      '</details>',
      '',
    );
  }
  await pool.end();
  const command = `npm run bench:shapes -- ${process.argv.slice(2).join(' ')}`.trim();
  await writeFile(values.report.replace(/\.md$/, '') + '-shapes.json', `${JSON.stringify({ command, info, results }, null, 2)}\n`);
  await replaceSection(
    values.report,
    `Shapes: uniform, burst, late (${(ROWS / 1e6).toString()}M rows)`,
    [
      `\`${command}\` (bench/shapes.ts): ${ROWS.toLocaleString('en')} rows over 365 days, shapes added in turn by plain SQL while the service runs and folds every second. ` +
        `Commit ${info.commit}, ${info.date}, Node ${info.node}, PostgreSQL ${info.postgres}, ${info.cpus}, load average ${info.load} at the start. Load ${loadS.toFixed(0)} s, rollup migrations with backfill ${migrateS.toFixed(0)} s.`,
      '',
      ...sections,
    ].join('\n'),
  );
  log(`wrote ${values.report}`);
} finally {
  clearInterval(watchVacuums);
  for (const child of children) await child.stop();
  await watcher.end().catch(() => {});
  await admin.end().catch(() => {});
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
