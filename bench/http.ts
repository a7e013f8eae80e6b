/**
 * npm run bench -- [--rows N]… [--connections C] [--duration S]
 * Seeds an embedded PostgreSQL with N rows (default 1M), starts the service on it (node directly,
 * not npm, so it can be stopped) and a hello-world Fastify, warms each URL up, then measures req/s
 * and latency with autocannon. Writes docs/BENCHMARKS.md (between its result markers) and the raw
 * figures to bench/results/BENCHMARKS-results.json (named after the report).
 */
import autocannon from 'autocannon';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { SHOWTIME_WORKER } from '../src/demo/demo-data.ts';
import { RARE_REASON, smallWorkerName } from '../src/demo/synthetic-data.ts';
import { rowsLabel, writeResults } from './lib/report.ts';
import { machine, median, seededDatabase, withClient, WORKERS, type Machine } from './lib/seeded-database.ts';
import { startScript, startService, type RunningService } from './service.ts';

const HELLO_SERVER = new URL('./lib/hello-server.ts', import.meta.url).pathname;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', multiple: true },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    /** Where the table goes (its JSON next to it): an experiment need not overwrite the record. */
    report: { type: 'string', default: 'docs/BENCHMARKS.md' },
  },
});
const sizes = (args.rows ?? ['1000000']).flatMap((r) => r.split(',')).map(Number);
const connections = Number(args.connections);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
if ([...sizes, connections, duration, warmup].some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error('usage: npm run bench -- [--rows N]… [--connections C] [--duration S] [--warmup S]');
}

const worker = (name: string) => `/metrics/worker/${encodeURIComponent(name)}`;
// Fast URLs first: a slow one leaves queries running in PostgreSQL after autocannon gives up on them.
const TARGETS: [string, string][] = [
  ['hello-world Fastify (ceiling)', 'HELLO'],
  ['system, 24 h', '/metrics/system?hours=24'],
  ['big worker, 24 h', `${worker(SHOWTIME_WORKER)}?hours=24`],
  ['small worker, 7 d', `${worker(smallWorkerName(WORKERS - 1))}?hours=168`],
  ['drill-down: Unknown, 365 d, 50 rows', '/job-executions?unknown=true&hours=8760'],
  ['drill-down: rare reason, 365 d, 50 rows', `/job-executions?reason=${encodeURIComponent(RARE_REASON)}&hours=8760`],
  ['system, 30 d', '/metrics/system?hours=720'],
  ['system, 365 d', '/metrics/system?hours=8760'],
];

interface Measurement {
  rows: number;
  target: string;
  path: string;
  /** Median of sequential requests, one at a time: the service time without queueing. */
  alone_ms: number;
  requests_per_s: number;
  p50_ms: number;
  p97_5_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
}

async function measure(url: string, seconds: number) {
  return autocannon({ url, connections, duration: seconds });
}

async function alone(url: string, count = 15): Promise<number> {
  await (await fetch(url)).arrayBuffer(); // opens the connection, untimed
  const times: number[] = [];
  // A slow URL gets three requests: the median of three says enough about a second-long answer.
  for (let i = 0; i < count && !(i >= 3 && times.reduce((a, b) => a + b, 0) > 5000); i++) {
    const started = performance.now();
    await (await fetch(url)).arrayBuffer();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Waits until PostgreSQL has finished the queries a previous URL left running (at most a minute). */
async function drain(url: string): Promise<void> {
  await withClient(url, async (client) => {
    for (let i = 0; i < 120; i++) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      if (rows[0]!.n === 0) return;
      await new Promise((done) => setTimeout(done, 500));
    }
  });
}

async function benchSize(rows: number, log: (line: string) => void): Promise<{ measurements: Measurement[]; info: Machine }> {
  const db = await seededDatabase(rows, log);
  const children: RunningService[] = [];
  try {
    const info = await machine(db.url);
    const service = await startService({ DATABASE_URL: db.url, METRICS_COALESCE: 'on' });
    children.push(service);
    // The same service with one read per request: what the queries alone sustain, in the same run.
    const uncoalesced = await startService({ DATABASE_URL: db.url, METRICS_COALESCE: 'off' });
    children.push(uncoalesced);
    const hello = await startScript(HELLO_SERVER, {});
    children.push(hello);
    const runs: [string, string, string][] = TARGETS.map(([target, path]) => [
      target,
      path === 'HELLO' ? '/hello' : path,
      path === 'HELLO' ? `${hello.base}/hello` : `${service.base}${path}`,
    ]);
    for (const [target, path] of TARGETS.filter(([, path]) => path.startsWith('/metrics/'))) {
      runs.push([`${target} (coalescing off)`, path, `${uncoalesced.base}${path}`]);
    }
    const measurements: Measurement[] = [];
    for (const [target, path, url] of runs) {
      await drain(db.url);
      const aloneMs = await alone(url);
      await measure(url, warmup);
      await drain(db.url);
      const r = await measure(url, duration);
      const m: Measurement = {
        rows,
        target,
        path,
        alone_ms: aloneMs,
        requests_per_s: r.requests.average,
        p50_ms: r.latency.p50,
        p97_5_ms: r.latency.p97_5,
        p99_ms: r.latency.p99,
        max_ms: r.latency.max,
        requests: r.requests.total,
        errors: r.errors + r.timeouts,
        non_2xx: r.non2xx,
      };
      measurements.push(m);
      log(`  ${target.padEnd(42)} alone ${m.alone_ms.toFixed(1)} ms  ${m.requests_per_s.toFixed(0).padStart(6)} req/s  p50 ${m.p50_ms} ms  p99 ${m.p99_ms} ms  errors ${m.errors} non-2xx ${m.non_2xx}`);
    }
    return { measurements, info };
  } finally {
    for (const child of children) await child.stop();
    await db.stop();
  }
}

function markdown(all: Measurement[], infos: Machine[], command: string): string {
  const lines = [
    `Command: \`${command}\` (${connections} connections, ${warmup} s warm-up then ${duration} s per URL). ` +
      '"alone": median of 15 sequential requests before the load (service time without queueing); ' +
      '"× hello": req/s relative to the hello-world route in the same run.',
    '',
  ];
  for (const rows of sizes) {
    const info = infos[sizes.indexOf(rows)]!;
    const hello = all.find((m) => m.rows === rows && m.path === '/hello');
    lines.push(
      `### ${rowsLabel(rows)} rows`,
      '',
      `Commit ${info.commit}, ${info.date}: Node ${info.node}, PostgreSQL ${info.postgres}, ${info.cpus}, ${info.memory_gib} GiB, ` +
        `load average ${info.load} when the service started (autocannon, the service, PostgreSQL and the other engineers' work share the same cores).`,
      '',
      '| URL | alone ms | req/s | × hello | p50 ms | p97.5 ms | p99 ms | max ms | requests | errors | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const m of all.filter((x) => x.rows === rows)) {
      const ratio = hello && m.requests_per_s > 0 ? (m.requests_per_s / hello.requests_per_s).toFixed(3) : '–';
      lines.push(
        `| ${m.target}: \`${m.path}\` | ${m.alone_ms.toFixed(1)} | ${m.requests_per_s.toFixed(0)} | ${ratio} | ${m.p50_ms} | ${m.p97_5_ms} | ${m.p99_ms} | ${m.max_ms} | ${m.requests} | ${m.errors} | ${m.non_2xx} |`,
      );
    }
    lines.push('');
  }
  if (sizes.length > 1) {
    lines.push('### Growth (alone ms / p99 ms under load)', '', `| URL | ${sizes.map(rowsLabel).join(' | ')} |`, `|---|${sizes.map(() => '---:').join('|')}|`);
    for (const target of new Set(all.map((m) => m.target))) {
      const cell = (rows: number) => {
        const m = all.find((x) => x.rows === rows && x.target === target);
        return m ? `${m.alone_ms.toFixed(1)} / ${m.p99_ms}` : '–';
      };
      lines.push(`| ${target} | ${sizes.map(cell).join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const started = performance.now();
const all: Measurement[] = [];
const infos: Machine[] = [];
for (const rows of sizes) {
  console.log(`${rowsLabel(rows)} rows:`);
  const { measurements, info } = await benchSize(rows, console.log);
  all.push(...measurements);
  infos.push(info);
}
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
const seconds = (performance.now() - started) / 1000;
await writeFile(`bench/results/${basename(args.report, '.md')}-results.json`, `${JSON.stringify({ command, seconds, machines: infos, measurements: all }, null, 2)}\n`);
await writeResults(args.report, 'Benchmarks', 'npm run bench', `${markdown(all, infos, command)}\nThe whole run took ${seconds.toFixed(0)} s.`);
console.log(`wrote ${args.report} in ${seconds.toFixed(0)} s`);
