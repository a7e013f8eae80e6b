/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * npm run bench:dashboard — the dashboard fully rendered, data included, in Debian's Chromium, on a
 * database of 1M rows seeded like `npm run seed` (bench/lib/seeded-database.ts). Measured from
 * navigation start to the page's `data-ready` mark (set once every figure, the reasons and the time
 * chart are on screen). Writes the "Dashboard" section of docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { CHROMIUM_PATH, chromiumMissing, launchChromium } from '../test/helpers/browser.ts';
import { DAYS, machine, seededDatabase, withClient, WORKERS } from './lib/seeded-database.ts';
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

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main() {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const database = await seededDatabase(ROWS, console.log);
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const { indexes, perDay } = await withClient(database.url, async (client) => ({
      indexes: (await client.query<{ i: string }>(
        "SELECT indexname AS i FROM pg_indexes WHERE tablename = 'job_execution_summaries' ORDER BY indexname",
      )).rows.map((r) => r.i),
      perDay: (await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM job_execution_summaries WHERE inserted_at > now() - interval '24 hours'",
      )).rows[0]!.n,
    }));
    const measuredOn = await machine(database.url);

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
Command: \`npm run bench:dashboard\` (bench/dashboard.ts; \`BENCH_ROWS\` and \`BENCH_RUNS\` change the size).
Commit ${measuredOn.commit}, ${measuredOn.date}; Node ${measuredOn.node}; PostgreSQL ${measuredOn.postgres} (embedded, fsync off);
${chromiumVersion} (headless); ${measuredOn.cpus}, ${measuredOn.memory_gib} GiB;
load average ${measuredOn.load} at the start; \`uptime\` at the end: ${execFileSync('uptime').toString().trim()}
(other work shared the machine: compare runs by their load).

${ROWS.toLocaleString('en-US')} rows seeded as \`npm run seed\` does (${DAYS} days, ${WORKERS} workers, the seed's mix of states and
reasons; ${perDay.toLocaleString('en-US')} in the last 24 hours), vacuumed and analysed; indexes: ${indexes.join(', ')}.
The service runs as \`node src/server.ts\` in its own process. Each view is loaded ${WARMUP} times to warm up, then
${RUNS} times; time is from navigation start to the page's \`data-ready\` mark: every tile, the reasons and the
time chart rendered (the worker picker's list is fetched after that, off the critical path; its time is the
last column). "cold" is a first visit from a blank tab with the browser cache disabled (every static file
fetched again, ~200 kB with uPlot); "warm" opens the same view again from itself, with the cache (static
files revalidated, 304). "slowest API call" is the longer of the view's two /metrics requests (they run in
parallel). Goal < ${GOAL_MS} ms (the seed's bar), aim < ${AIM_MS} ms.

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
  }
}

await main();
