/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * npm run bench:dashboard — the dashboard fully rendered, data included, in Debian's Chromium, on a
 * database of 1M rows (a year at the seed's rate of ~3,000 executions a day). Measured from
 * navigation start to the page's `data-ready` mark (set once every figure, the reasons, the time
 * chart and the worker list are on screen). Writes the "Dashboard" section of docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { CHROMIUM_PATH, chromiumMissing, launchChromium } from '../test/helpers/browser.ts';
import { machineLine } from './machine.ts';
import { replaceSection } from './report.ts';
import { startService } from './service.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;
const GOAL_MS = 500;
const AIM_MS = 150;
const SHOWTIME = 'EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob';
const VIEWS = [
  { name: 'System, 24 h (the landing view)', query: 'hours=24' },
  { name: `Worker ${SHOWTIME.split('.').at(-1)}, 24 h`, query: `hours=24&worker=${encodeURIComponent(SHOWTIME)}` },
  { name: 'System, 7 d', query: 'hours=168' },
  { name: 'System, 30 d', query: 'hours=720' },
];

/** A year of executions with the seed's mix: 81% cancelled, a fifth of those with no reason. */
const generate = (rows: number) => sql.unsafe`
  INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
  SELECT
    i, 1,
    CASE WHEN r1 < 0.5 THEN ${SHOWTIME} ELSE 'Bench.Worker.' || lpad((floor(r1 * 1000)::int % 39)::text, 2, '0') END,
    CASE WHEN r2 < 0.8 THEN 'scraper' ELSE 'scraper_detail' END,
    CASE WHEN r3 < 0.809 THEN 'cancelled' WHEN r3 < 0.909 THEN 'completed' WHEN r3 < 0.942 THEN 'retryable'
         WHEN r3 < 0.975 THEN 'discarded' ELSE 'snoozed' END,
    CASE WHEN r3 >= 0.809 THEN '{"status": "ok"}'::jsonb
         WHEN r4 < 0.80 THEN '{"cancel_reason": "movie not matched"}'::jsonb
         WHEN r4 < 0.87 THEN '{}'::jsonb
         WHEN r4 < 0.93 THEN '{"cancel_reason": null}'::jsonb
         WHEN r4 < 0.99 THEN NULL
         WHEN r4 < 0.995 THEN '{"cancel_reason": "unknown"}'::jsonb
         ELSE jsonb_build_object('cancel_reason', 'reason ' || (floor(r4 * 1000000)::int % 40)) END,
    CASE WHEN r2 < 0.01 THEN NULL
         ELSE round(exp(ln(450) + 0.9 * sqrt(-2 * ln(1 - r1)) * cos(2 * pi() * r4)))::int END,
    now() - interval '365 days' * ((i - 1)::float8 / ${rows})
  FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4 FROM generate_series(1, ${rows}) AS i) AS g
`;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main() {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-bench-dashboard-'));
  const database = await startEmbeddedPostgres({ dir, ephemeral: true });
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await migrate(database.url, { direction: 'up' });
    const pool = await createDatabasePool(database.url, { statementTimeoutMs: 600_000, connectionTimeoutMs: 5_000 });
    const started = Date.now();
    await pool.query(generate(ROWS));
    await pool.query(sql.unsafe`VACUUM ANALYZE job_execution_summaries`);
    const postgres = await pool.oneFirst(sql.type(z.object({ v: z.string() }))`SELECT current_setting('server_version') AS v`);
    const indexes = await pool.anyFirst(sql.type(z.object({ i: z.string() }))`
      SELECT indexname AS i FROM pg_indexes WHERE tablename = 'job_execution_summaries' ORDER BY indexname
    `);
    const perDay = await pool.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries WHERE inserted_at > now() - interval '24 hours'`,
    );
    await pool.end();
    console.log(`${ROWS.toLocaleString('en-US')} rows generated in ${((Date.now() - started) / 1000).toFixed(1)} s (${perDay} in the last 24 h)`);

    service = await startService({ DATABASE_URL: database.url });
    browser = await launchChromium();
    const chromiumVersion = execFileSync(CHROMIUM_PATH, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);

    const rows: string[] = [];
    for (const view of VIEWS) {
      for (const cache of ['cold', 'warm'] as const) {
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: cache === 'cold' });
        const ready: number[] = [];
        const api: number[] = [];
        const workers: number[] = [];
        for (let run = 0; run < WARMUP + RUNS; run++) {
          // Cold: a first visit from a blank tab. Warm: the same page opened again from itself.
          if (cache === 'cold') await page.goto('about:blank');
          await page.goto(`${service.base}/dashboard?${view.query}`);
          await page.waitForSelector('html[data-ready]', { timeout: 60_000 });
          await page.waitForSelector('#workers[data-loaded]', { state: 'attached', timeout: 60_000 });
          const measured = await page.evaluate(() => {
            const calls = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
            const took = (e: PerformanceResourceTiming) => e.responseEnd - e.startTime;
            return {
              state: document.documentElement.dataset.state,
              ready: performance.getEntriesByName('data-ready')[0]!.startTime,
              api: Math.max(...calls.filter((e) => /\/metrics\/(system|worker\/)/.test(e.name)).map(took)),
              workers: Math.max(...calls.filter((e) => e.name.endsWith('/metrics/workers')).map(took)),
            };
          });
          if (measured.state !== 'ready') throw new Error(`${view.name}: the page shows an error`);
          if (run >= WARMUP) {
            ready.push(measured.ready);
            api.push(measured.api);
            workers.push(measured.workers);
          }
        }
        ready.sort((a, b) => a - b);
        api.sort((a, b) => a - b);
        workers.sort((a, b) => a - b);
        const line =
          `| ${view.name} | ${cache} | ${ms(percentile(ready, 0.5))} | ${ms(percentile(ready, 0.95))} | ${ms(ready.at(-1)!)} ` +
          `| ${ms(percentile(api, 0.5))} | ${ms(percentile(workers, 0.5))} |`;
        console.log(line);
        rows.push(line);
      }
    }

    const body = `
Command: \`npm run bench:dashboard\` (bench/dashboard.ts; \`BENCH_ROWS\`, \`BENCH_RUNS\` to change the size).
${machineLine()}; PostgreSQL ${postgres} (embedded, fsync off); ${chromiumVersion} (headless);
\`uptime\`: ${execFileSync('uptime').toString().trim()}.

${ROWS.toLocaleString('en-US')} rows spread evenly over the last 365 days (${perDay.toLocaleString('en-US')} in the last
24 hours, about the seed's 2,991 a day), 40 workers, the seed's mix of states and reasons (81% cancelled,
a fifth of those with no reason); indexes: ${indexes.join(', ')}. The service runs as \`node src/server.ts\` in its own process. Each
view is loaded ${WARMUP} times to warm up, then ${RUNS} times; time is from navigation start to the page's
\`data-ready\` mark: every tile, the reasons and the time chart rendered (the worker picker's list is
fetched after that, off the critical path; its time is the last column). "cold" is a first visit
from a blank tab with the browser cache disabled (every static file fetched again, ~200 kB with
uPlot); "warm" opens the same view again from itself, with the cache (static files revalidated, 304). "slowest API call" is the longer of the two /metrics requests of the view (they run in parallel).
Goal < ${GOAL_MS} ms (the seed's bar), aim < ${AIM_MS} ms.

| view | cache | median | p95 | max | slowest API call (median) | worker list (median) |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
    await replaceSection(new URL('../docs/BENCHMARKS.md', import.meta.url).pathname, 'Dashboard', body);
    console.log('wrote the Dashboard section of docs/BENCHMARKS.md');
  } finally {
    await browser?.close();
    await service?.stop();
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
