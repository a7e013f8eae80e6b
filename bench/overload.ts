/**
 * npm run bench:overload — 10× the concurrency that saturates the service, for 10 s, on loopback.
 * It must stay up, shed with 503 + Retry-After instead of queueing without bound, and answer
 * normally again soon after the load stops. Writes the "Overload" section of docs/RELIABILITY.md.
 */
import autocannon from 'autocannon';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { machineLine } from './machine.ts';
import { replaceSection } from './report.ts';
import { startService } from './service.ts';

const EXTRA_ROWS = Number(process.env.OVERLOAD_ROWS ?? 300_000);
const PATH = '/metrics/system?hours=24';

const run = (url: string, connections: number, duration: number) =>
  autocannon({ url, connections, duration, timeout: 30 }) as unknown as Promise<autocannon.Result>;

const dataDir = await mkdtemp(join(tmpdir(), 'job-metrics-overload-'));
const service = await startService({ DATA_DIR: dataDir, DATABASE_URL: '' });
try {
  const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'job_metrics' });
  await client.connect();
  await client.query(
    `INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at)
     SELECT i, 'Bench.Worker' || (i % 7), (ARRAY['completed','cancelled','cancelled','retryable'])[1 + i % 4],
            CASE WHEN i % 5 = 0 THEN NULL ELSE jsonb_build_object('cancel_reason', 'r' || (i % 3)) END,
            (random() * 2000)::int, now() - random() * interval '23 hours'
     FROM generate_series(1, $1::int) AS i`,
    [EXTRA_ROWS],
  );
  await client.query('ANALYZE job_execution_summaries');
  await client.end();
  const url = service.base + PATH;

  await run(url, 2, 3); // warm-up
  const ramp: { connections: number; rps: number; p99: number }[] = [];
  for (const connections of [1, 2, 4, 8, 16]) {
    const result = await run(url, connections, 4);
    ramp.push({ connections, rps: result.requests.average, p99: result.latency.p99 });
  }
  const best = Math.max(...ramp.map((r) => r.rps));
  const saturation = ramp.find((r) => r.rps >= 0.9 * best)!.connections;
  const baseline = ramp[0]!;

  const overload = await run(url, saturation * 10, 10);
  const statuses = Object.entries(overload.statusCodeStats ?? {}).map(([code, { count }]) => `${code}: ${count}`).join(', ');

  // Recovery: sequential requests until five in a row are 200 within twice the idle p99.
  const stopped = performance.now();
  let streak = 0;
  let recoveredMs = NaN;
  while (performance.now() - stopped < 30_000) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    const ms = performance.now() - started;
    streak = response.status === 200 && ms <= Math.max(2 * baseline.p99, 50) ? streak + 1 : 0;
    if (streak === 5) {
      recoveredMs = performance.now() - stopped;
      break;
    }
  }
  const alive = (await fetch(`${service.base}/health/live`)).status;

  const report = [
    `Measured by \`npm run bench:overload\` (bench/overload.ts): ${machineLine()}.`,
    `Data: the demo set plus ${EXTRA_ROWS.toLocaleString('en')} rows in the last 24 h; route \`GET ${PATH}\`;`,
    'pool of 10 connections, POOL_TIMEOUT_MS 2000, STATEMENT_TIMEOUT_MS 15000 (the defaults).',
    '',
    '| connections | req/s | p99 ms |',
    '|---:|---:|---:|',
    ...ramp.map((r) => `| ${r.connections} | ${r.rps.toFixed(0)} | ${r.p99} |`),
    '',
    `Saturation: ${saturation} connections (the first at ≥ 90 % of the best throughput, ${best.toFixed(0)} req/s).`,
    `Overload: ${saturation * 10} connections for 10 s → ${overload.requests.total} requests; statuses ${statuses};`,
    `${overload.errors} connection errors, ${overload.timeouts} timeouts; latency p50 ${overload.latency.p50} ms,`,
    `p99 ${overload.latency.p99} ms, max ${overload.latency.max} ms.`,
    `After the load stopped: five consecutive normal answers within ${Number.isNaN(recoveredMs) ? 'NOT within 30 s' : `${Math.round(recoveredMs)} ms`};`,
    `\`/health/live\` answered ${alive}.`,
  ].join('\n');
  await replaceSection('docs/RELIABILITY.md', 'Overload', report);
  console.log(report);
} finally {
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
}
