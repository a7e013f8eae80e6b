/**
 * npm run bench:monitoring -- [--rows N]… [--connections 10] [--duration 10]
 * 1. GET /metrics (the Prometheus scrape) at each size: latency alone and under `connections`
 *    concurrent scrapers (autocannon), on an embedded PostgreSQL seeded like `npm run seed`.
 * 2. At the first size, GET /metrics/system?hours=24 with the service started three ways: plain
 *    `node src/server.ts`, with npm start's tracing preload and no OTEL_* (tracing off), and with
 *    tracing on, exporting every span over OTLP/HTTP to a sink in this process.
 * Writes the "Prometheus scrape" and "Tracing" sections of docs/BENCHMARKS.md.
 */
import autocannon from 'autocannon';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { rowsLabel } from './lib/report.ts';
import { machine, median, seededDatabase, type Machine } from './lib/seeded-database.ts';
import { replaceSection } from './report.ts';
import { startService, TRACING_PRELOAD, type RunningService } from './service.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', multiple: true },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
  },
});
const sizes = (args.rows ?? ['1000000']).flatMap((r) => r.split(',')).map(Number);
const connections = Number(args.connections);
const duration = Number(args.duration);
const COMMAND = `npm run bench:monitoring -- ${sizes.map((n) => `--rows ${n}`).join(' ')} --connections ${connections} --duration ${duration}`;

interface Load {
  alone_ms: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
  non_2xx: number;
  errors: number;
  load: string;
}

async function alone(url: string, count = 30): Promise<number> {
  await (await fetch(url)).arrayBuffer();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await (await fetch(url)).arrayBuffer();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function load(url: string): Promise<Load> {
  const aloneMs = await alone(url);
  await autocannon({ url, connections, duration: 2 }); // warm-up
  const result = await autocannon({ url, connections, duration });
  return {
    alone_ms: aloneMs,
    requests_per_s: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    requests: result.requests.total,
    non_2xx: result.non2xx,
    errors: result.errors,
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

/** An OTLP/HTTP endpoint that accepts and drops every export, so tracing on pays its full cost here. */
async function otlpSink() {
  let exports = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      exports += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, exports: () => exports, close: () => new Promise((r) => server.close(r)) };
}

async function withService<T>(env: Record<string, string>, nodeArgs: string[], use: (service: RunningService) => Promise<T>): Promise<T> {
  const service = await startService(env, nodeArgs);
  try {
    return await use(service);
  } finally {
    await service.stop();
  }
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const ms = (n: number) => n.toFixed(n < 10 ? 1 : 0);

type Scrape = { rows: number; workers: number; series: number; bytes: number; result: Load };
type TracingRun = { mode: string; result: Load; exports?: number };

async function report(m: Machine, scrapes: Scrape[], tracing: TracingRun[]) {
  const header = `Command: \`${COMMAND}\` (bench/monitoring.ts). Commit ${m.commit}, ${m.date}; Node ${m.node}; PostgreSQL ${m.postgres} (embedded, fsync off); ${m.cpus}, ${m.memory_gib} GiB; load average ${m.load} at the start (the load column is at the end of each run; other work shared the machine). Rows seeded as \`npm run seed\` does (90 days, 12 workers), vacuumed and analysed; the service runs as its own process, autocannon in this one, all on the same 2 cores. "alone" is the median of 30 sequential requests; the rest is ${duration} s of ${connections} concurrent connections after a 2 s warm-up.`;
  await replaceSection(
    'docs/BENCHMARKS.md',
    'Prometheus scrape',
    `${header}

Each scrape reads the month rollups plus the pending rows in one statement (never the raw table), then renders every family (job counters and histogram per worker, request histograms, process and Node.js metrics).

${row(['rows', 'workers', 'job series', 'page bytes', 'alone ms', 'scrapes/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'load at end'])}
${row(Array(11).fill('---:'))}
${scrapes.map((s) => row([rowsLabel(s.rows), s.workers, s.series, s.bytes.toLocaleString('en'), ms(s.result.alone_ms), Math.round(s.result.requests_per_s), ms(s.result.p50_ms), ms(s.result.p99_ms), ms(s.result.max_ms), s.result.non_2xx, s.result.load])).join('\n')}`,
  );
  await replaceSection(
    'docs/BENCHMARKS.md',
    'Tracing',
    `${header}

\`GET /metrics/system?hours=24\` at ${rowsLabel(sizes[0]!)} rows, the service started three ways. Tracing off must cost nothing: the preload then imports only its own few lines.

${row(['service', 'alone ms', 'requests/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'load at end'])}
${row(['---', ...Array(7).fill('---:')])}
${tracing.map((t) => row([t.mode, ms(t.result.alone_ms), Math.round(t.result.requests_per_s), ms(t.result.p50_ms), ms(t.result.p99_ms), ms(t.result.max_ms), t.result.non_2xx, t.result.load])).join('\n')}`,
  );
}

async function main() {
  const scrapes: Scrape[] = [];
  let tracing: TracingRun[] = [];
  let measuredOn: Machine | undefined;
  for (const [index, rows] of sizes.entries()) {
    console.log(`seeding ${rowsLabel(rows)} rows …`);
    const database = await seededDatabase(rows, console.log);
    try {
      measuredOn ??= await machine(database.url);
      const env = { DATABASE_URL: database.url };
      await withService(env, [], async (service) => {
        // Just after start the service may still shed load (503) on a busy machine: ask until served.
        let response = await fetch(`${service.base}/metrics`);
        for (let tries = 0; response.status === 503 && tries < 100; tries++) {
          await response.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 100));
          response = await fetch(`${service.base}/metrics`);
        }
        const page = await response.text();
        if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}: ${page}`);
        const series = page.split('\n').filter((l) => l.startsWith('job_')).length;
        const workers = new Set([...page.matchAll(/^job_executions_total\{worker="((?:[^"\\]|\\.)*)"/gm)].map((m) => m[1])).size;
        console.log(`  GET /metrics: ${workers} workers, ${series} job series, ${page.length} bytes`);
        scrapes.push({ rows, workers, series, bytes: Buffer.byteLength(page), result: await load(`${service.base}/metrics`) });
        console.log(`  ${JSON.stringify(scrapes.at(-1)!.result)}`);
      });
      if (index === 0) {
        const sink = await otlpSink();
        const url = '/metrics/system?hours=24';
        const modes: [string, Record<string, string>, string[]][] = [
          ['`node src/server.ts` (no preload)', env, []],
          ['npm start: preload, no OTEL_* (tracing off)', env, TRACING_PRELOAD],
          ['npm start with OTEL_EXPORTER_OTLP_ENDPOINT (tracing on, every request exported)', { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }, TRACING_PRELOAD],
        ];
        tracing = [];
        for (const [mode, modeEnv, nodeArgs] of modes) {
          const result = await withService(modeEnv, nodeArgs, (service) => load(`${service.base}${url}`));
          tracing.push({ mode, result, exports: sink.exports() });
          console.log(`  ${mode}: ${JSON.stringify(result)}`);
        }
        await sink.close();
      }
    } finally {
      await database.stop();
    }
    // Written after each size, so a long run's first sizes are kept if a later one is cut short.
    await report(measuredOn!, scrapes, tracing);
  }

  console.log('wrote docs/BENCHMARKS.md (Prometheus scrape, Tracing)');
}

await main();
