/**
 * npm run bench:many-reasons -- [--rows N] [--reasons R] [--requests K] [--limit L]
 * Cancel reasons that embed ids ("movie 12345 not matched"): a fresh embedded PostgreSQL gets N rows
 * over a year with the seed's shape (default 1M), then R cancelled rows of one worker, each with a
 * reason of its own, spread over the last 22 hours (default 200,000), inserted by plain SQL in
 * statements of 10,000 while the service folds. Records what they cost the rollup tables, then each
 * window of the system and that worker one request at a time (p50/p95 of K, default 10): every
 * reason listed, and `?reasons=L` (default 50, what the dashboard asks). The limited answers are
 * checked against the seed's query in one snapshot: the L largest, and the rest summed.
 * Prints a Markdown section; nothing is written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { machine } from './lib/seeded-database.ts';
import { loadSql } from './lib/seed-shape.ts';
import { quantile } from './lib/random-windows.ts';
import { startService } from './service.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    reasons: { type: 'string', default: '200000' },
    requests: { type: 'string', default: '10' },
    limit: { type: 'string', default: '50' },
  },
});
const ROWS = Number(values.rows);
const REASONS = Number(values.reasons);
const REQUESTS = Number(values.requests);
const LIMIT = Number(values.limit);
const WORKER = 'Bench.ManyReasons';
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-many-reasons-'));
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const admin = new pg.Client({ connectionString: server.url });
let service: Awaited<ReturnType<typeof startService>> | undefined;
try {
  await admin.connect();
  await admin.query('SET statement_timeout = 0');
  await migrate(server.url, { direction: 'up' });
  for (let from = 1; from <= ROWS; from += 500_000) {
    await admin.query(loadSql(from, Math.min(ROWS, from + 499_999), `now() - make_interval(secs => 365 * 86400.0 * (${ROWS} - i + random()) / ${ROWS})`));
  }
  service = await startService({ DATABASE_URL: server.url, LOG_LEVEL: 'warn', METRICS_COALESCE: 'off' });
  const sizes = async () => {
    const { rows } = await admin.query<{ name: string; bytes: string }>(`
      SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c
      WHERE c.relname IN ('job_execution_summaries', 'job_rollups', 'job_rollup_reasons') ORDER BY 1`);
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
  };
  await admin.query('VACUUM ANALYZE');
  const before = await sizes();
  log(`${ROWS} rows over a year loaded; adding ${REASONS} rows with a reason each`);

  const t0 = performance.now();
  for (let done = 0; done < REASONS; done += 10_000) {
    await admin.query(
      `INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at)
       SELECT $1::bigint + i, $2, 'cancelled', jsonb_build_object('cancel_reason', 'movie ' || ($1::bigint + i) || ' not matched'),
              (i * 7) % 3000, now() - make_interval(secs => 22 * 3600.0 * ($1::bigint + i - ${ROWS}) / ${REASONS})
       FROM generate_series(1, $3::int) i`,
      [ROWS + done, WORKER, Math.min(10_000, REASONS - done)],
    );
  }
  const insertS = (performance.now() - t0) / 1000;
  while (Number((await admin.query('SELECT count(*) AS n FROM job_rollup_pending')).rows[0].n) > 0) await new Promise((r) => setTimeout(r, 200));
  const foldedS = (performance.now() - t0) / 1000;
  await admin.query('VACUUM ANALYZE');
  const after = await sizes();
  log(`inserted in ${insertS.toFixed(1)} s, folded by ${foldedS.toFixed(1)} s`);

  const lines: string[] = [];
  for (const [scope, path] of [['system', '/metrics/system'], ['many-reasons worker', `/metrics/worker/${WORKER}`]] as const) {
    for (const hours of [1, 24, 8760]) {
      const cells: string[] = [];
      for (const query of ['', `&reasons=${LIMIT}`]) {
        const url = `${service.base}${path}?hours=${hours}${query}`;
        await fetch(url).then((r) => r.arrayBuffer());
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < REQUESTS; i++) {
          const started = performance.now();
          const response = await fetch(url);
          bytes = (await response.arrayBuffer()).byteLength;
          if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
          times.push(performance.now() - started);
        }
        cells.push(`${quantile(times, 0.5).toFixed(0)} / ${quantile(times, 0.95).toFixed(0)}`, bytes.toLocaleString('en'));
      }
      lines.push(`| ${scope} ${hours} h | ${cells.join(' | ')} |`);
      log(lines.at(-1)!);
    }
  }

  // The limited answer against the seed's query: nothing is written meanwhile, and the rows lie
  // 0.4 s apart, far from the window's start (22 h back at most).
  const check = await fetch(`${service.base}/metrics/worker/${WORKER}?hours=24&reasons=${LIMIT}`).then((r) => r.json() as Promise<{
    cancellations: { total: number; unknown: number; by_reason: { reason: string; count: number }[]; other_reasons: { count: number; reasons: number } };
  }>);
  const { rows: oracle } = await admin.query<{ reason: string; n: number }>(`
    SELECT reason, n FROM (
      SELECT results->>'cancel_reason' AS reason, count(*)::int AS n FROM job_execution_summaries
      WHERE worker = $1 AND state = 'cancelled' AND results->>'cancel_reason' IS NOT NULL AND inserted_at > now() - interval '24 hours'
      GROUP BY 1) x
    ORDER BY n DESC, reason COLLATE "C"`, [WORKER]);
  const c = check.cancellations;
  const ok =
    JSON.stringify(c.by_reason) === JSON.stringify(oracle.slice(0, LIMIT).map((r) => ({ reason: r.reason, count: r.n }))) &&
    c.other_reasons.reasons === oracle.length - Math.min(LIMIT, oracle.length) &&
    c.other_reasons.count === oracle.slice(LIMIT).reduce((sum, r) => sum + r.n, 0) &&
    c.total === c.unknown + c.by_reason.reduce((sum, r) => sum + r.count, 0) + c.other_reasons.count;

  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const info = await machine(server.url);
  console.log(
    [
      `\`npm run bench:many-reasons -- --rows ${ROWS} --reasons ${REASONS} --requests ${REQUESTS} --limit ${LIMIT}\` (bench/many-reasons.ts): commit ${info.commit}, ${info.date}, Node ${info.node}, PostgreSQL ${info.postgres}, ${info.cpus}, ${info.memory_gib} GiB, load average ${info.load} at the end.`,
      '',
      `${REASONS.toLocaleString('en')} rows with a reason each, in statements of 10,000: inserted in ${insertS.toFixed(1)} s, folded by ${foldedS.toFixed(1)} s.`,
      '',
      '| table | before, MB | after, MB | per added row |',
      '|---|---:|---:|---:|',
      ...Object.keys(after).map(
        (name) => `| ${name} | ${mb(before[name]!)} | ${mb(after[name]!)} | ${((after[name]! - before[name]!) / REASONS).toFixed(0)} B |`,
      ),
      '',
      `| window, one client | every reason: p50 / p95 ms | bytes | \`reasons=${LIMIT}\`: p50 / p95 ms | bytes |`,
      '|---|---:|---:|---:|---:|',
      ...lines,
      '',
      `\`reasons=${LIMIT}\` against the seed's query (the worker, 24 h): ${ok ? 'equal' : 'DIFFERS'} (${oracle.length.toLocaleString('en')} reasons).`,
    ].join('\n'),
  );
  if (!ok) process.exitCode = 1;
} finally {
  await service?.stop();
  await admin.end().catch(() => {});
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
