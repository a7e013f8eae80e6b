/**
 * DATABASE_URL=… npm run bench:generic-plans -- [--out FILE] [--max-rows N]
 * Every statement the metrics pool sends, run on your database the way the pool runs it: prepared,
 * planned once without its parameters' values (plan_cache_mode=force_generic_plan), jit off. For
 * the system, the biggest and the smallest worker and a name never seen, over 1 h to 8760 h.
 *
 * The EXPLAIN harness (npm run explain) plans with literals: a plan the service never runs. A
 * generic plan guesses that any worker holds 1/n of the rows, and with few workers, or one that
 * holds nearly all of them, it can pick a scan that reads the whole table (docs/EXPLAIN.md,
 * "Workers"). This lists, per statement, the median of 3 runs and every scan that touched more than
 * --max-rows rows (default 100,000), and exits 1 if any did. Read-only: it runs SELECTs.
 *
 * The exact path (window-metrics-query.ts) is left out: the service sends it only windows of at
 * most METRICS_EXACT_MAX_ROWS rows, which the size statement here decides.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withSessionOptions } from '../src/db/pool.ts';
import { workerCountersQuery } from '../src/metrics/prometheus/counters-query.ts';
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { windowSizeQuery } from '../src/metrics/rollup/window-size-query.ts';
import { timeseriesQuery } from '../src/metrics/timeseries-query.ts';
import { workerExistsQuery, workersQuery } from '../src/metrics/workers-query.ts';
import { rowExecutionsText } from '../src/metrics/rollup/row-executions.ts';
import { DEFAULT_HOURLY_HOURS } from '../src/schemas/timeseries.ts';
import { executeArgs, pgQuery, planNodes, type PlanNode } from './lib/plan.ts';
import { machine, median } from './lib/seeded-database.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, 'max-rows': { type: 'string', default: '100000' } } });
const MAX_ROWS = Number(values['max-rows']);
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required: the database whose plans to check (only SELECTs are run).');
  process.exit(2);
}

const client = new pg.Client({ connectionString: withSessionOptions(url, true) });
await client.connect();
await client.query("SET statement_timeout = '60s'");

const { rows: ranked } = await client.query<{ worker: string }>(`
  SELECT worker FROM job_rollups WHERE grain = 'month' AND worker IS NOT NULL
  GROUP BY worker ORDER BY sum(${rowExecutionsText()}) DESC, worker`);
const scopes = [...new Set([undefined, ranked[0]?.worker, ranked.at(-1)?.worker, 'Never.Seen.Worker'])];
const HOURS = [1, 24, 168, 720, 8760];

type Token = { sql: string; values: readonly unknown[] };
const statements: [string, Token][] = [['workers list', workersQuery()], ['prometheus counters', workerCountersQuery(50)]];
for (const worker of scopes) {
  const who = worker === undefined ? 'system' : worker.length > 40 ? `${worker.slice(0, 39)}…` : worker;
  if (worker !== undefined) statements.push([`${who}: known`, workerExistsQuery(worker)]);
  for (const hours of HOURS) {
    statements.push([`${who} ${hours} h: size`, windowSizeQuery(hours, 2_000, worker)]);
    statements.push([`${who} ${hours} h: rollup read`, rollupMetricsQuery(hours, 0, worker)]);
    statements.push([`${who} ${hours} h: time series`, timeseriesQuery(hours, hours <= DEFAULT_HOURLY_HOURS ? 'hour' : 'day', worker)]);
  }
}

/** Scans of a table or index that produced or filtered away more than MAX_ROWS rows. */
const bigScans = (plan: PlanNode): string[] =>
  planNodes(plan).flatMap((node) => {
    const rows = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) + Number(node['Rows Removed by Filter'] ?? 0);
    if (!node['Relation Name'] || rows <= MAX_ROWS) return [];
    return [`${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''} on ${node['Relation Name']}: ${Math.round(rows)} rows`];
  });

const results = [];
for (const [index, [what, token]] of statements.entries()) {
  const { text, values: params } = pgQuery(token);
  const name = `generic_${index}`;
  await client.query(`PREPARE ${name} AS ${text}`);
  // EXECUTE takes the values as literals; the plan is the prepared one, made without them.
  const args = executeArgs(params);
  const ms: number[] = [];
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    await client.query(`EXECUTE ${name}${args}`);
    ms.push(performance.now() - started);
  }
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}${args}`);
  const scans = bigScans(rows[0]['QUERY PLAN'][0].Plan as PlanNode);
  results.push({ statement: what, median_ms: Number(median(ms).toFixed(2)), big_scans: scans });
  console.log(`${what.padEnd(72)} ${median(ms).toFixed(1).padStart(8)} ms${scans.length ? `  ${scans.join('; ')}` : ''}`);
  await client.query(`DEALLOCATE ${name}`);
}
await client.end();

const flagged = results.filter((r) => r.big_scans.length > 0);
console.log(`\n${results.length} statements, ${flagged.length} with a scan of more than ${MAX_ROWS} rows.`);
if (values.out) await writeFile(values.out, `${JSON.stringify({ machine: await machine(url), max_rows: MAX_ROWS, results }, null, 2)}\n`);
process.exit(flagged.length === 0 ? 0 : 1);
