/**
 * npm run explain -- [--rows N]… [--variant NAME]… [--runs R]
 * For each data size (default 3k, 100k, 1M) and index variant, EXPLAIN (ANALYZE, BUFFERS) of the
 * seed's queries and of the service's own queries; writes docs/EXPLAIN.md (between its result
 * markers), bench/results/plans/*.txt and bench/results/explain-results.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';

import { parseArgs } from 'node:util';
import type pg from 'pg';
import { SHOWTIME_WORKER } from '../src/demo/demo-data.ts';
import { RARE_REASON, smallWorkerName } from '../src/demo/synthetic-data.ts';
import { executionListQuery } from '../src/executions/execution-list-query.ts';
import { windowMetricsQuery } from '../src/metrics/window-metrics-query.ts';
import { workerExistsQuery, workersQuery } from '../src/metrics/workers-query.ts';
import { indexesUsed, pgQuery, renderPlan, topNodes, type PlanNode } from './lib/plan.ts';
import { rowsLabel, writeResults } from './lib/report.ts';
import { machine, median, seededDatabase, WORKERS, withClient, type Machine } from './lib/seeded-database.ts';

/** Generated output lives with the bench, not among the docs people read. */
const PLANS_DIR = 'bench/results/plans';

const SMALL_WORKER = smallWorkerName(WORKERS - 1);
const TABLE = 'job_execution_summaries';

interface Query {
  id: string;
  what: string;
  text: string;
  values: readonly unknown[];
  /** Also time it as a plain query from the client (not for answers of 100k+ rows). */
  wall: boolean;
}

const raw = (id: string, what: string, text: string, wall = true): Query => ({ id, what, text, values: [], wall });
const built = (id: string, what: string, token: { sql: string; values: readonly unknown[] }): Query => ({
  id, what, ...pgQuery(token), wall: true,
});
const seedWhere = (reason: string) => `state = 'cancelled' AND results->>'cancel_reason' = '${reason}'`;
const containment = (reason: string) => `state = 'cancelled' AND results -> 'cancel_reason' @> '"${reason}"'`;

const QUERIES: Query[] = [
  raw('seed-select', "the seed's query: SELECT * … ->> = 'movie not matched'", `SELECT * FROM ${TABLE} WHERE ${seedWhere('movie not matched')}`, false),
  raw('seed-count', "the seed's query as COUNT(*)", `SELECT count(*) FROM ${TABLE} WHERE ${seedWhere('movie not matched')}`),
  raw('seed-containment-count', "COUNT(*) in the containment form @> '\"movie not matched\"'", `SELECT count(*) FROM ${TABLE} WHERE ${containment('movie not matched')}`),
  raw('rare-select', `the seed's query for a rare reason ('${RARE_REASON}')`, `SELECT * FROM ${TABLE} WHERE ${seedWhere(RARE_REASON)}`),
  raw('rare-containment-select', 'the rare reason in the containment form', `SELECT * FROM ${TABLE} WHERE ${containment(RARE_REASON)}`),
  raw('rare-prefix-select', "the rare reason as the service asks it (prefix key + exact ->> =)",
    `SELECT * FROM ${TABLE} s WHERE s.state = 'cancelled' AND left(s.results ->> 'cancel_reason', 200) = left('${RARE_REASON}', 200) AND s.results ->> 'cancel_reason' = '${RARE_REASON}'`),
  built('system-1h', 'system metrics, 1 h', windowMetricsQuery(1)),
  built('system-24h', 'system metrics, 24 h', windowMetricsQuery(24)),
  built('system-30d', 'system metrics, 30 d', windowMetricsQuery(720)),
  built('system-365d', 'system metrics, 365 d', windowMetricsQuery(8760)),
  built('worker-big-24h', 'worker metrics, the big worker, 24 h', windowMetricsQuery(24, SHOWTIME_WORKER)),
  built('worker-small-168h', 'worker metrics, a small worker, 7 d', windowMetricsQuery(168, SMALL_WORKER)),
  built('worker-unknown-exists', 'has an unknown worker ever been seen (the 404 check)', workerExistsQuery('Never.Seen.Worker')),
  built('workers-list', 'GET /metrics/workers', workersQuery()),
  built('drill-all', 'drill-down page of 50, no filter, 365 d', executionListQuery({ hours: 8760, limit: 50 })),
  built('drill-common', "drill-down page of 50, 'movie not matched', 365 d", executionListQuery({ hours: 8760, limit: 50, reason: { reason: 'movie not matched' } })),
  built('drill-rare', `drill-down page of 50, '${RARE_REASON}', 365 d`, executionListQuery({ hours: 8760, limit: 50, reason: { reason: RARE_REASON } })),
  built('drill-literal-unknown', "drill-down page of 50, the literal reason 'unknown', 365 d", executionListQuery({ hours: 8760, limit: 50, reason: { reason: 'unknown' } })),
  built('drill-unknown', 'drill-down page of 50, Unknown (reason IS NULL), 365 d', executionListQuery({ hours: 8760, limit: 50, reason: { unknown: true } })),
  built('drill-small-worker', 'drill-down page of 50, a small worker, 365 d', executionListQuery({ hours: 8760, limit: 50, worker: SMALL_WORKER })),
  built('drill-rare-24h', `drill-down page of 50, '${RARE_REASON}', 24 h`, executionListQuery({ hours: 24, limit: 50, reason: { reason: RARE_REASON } })),
];

interface IndexDef {
  name: string;
  definition: string;
}

/** Index variants: the shipped ones come from the migrations themselves (read back after `migrate up`). */
function variants(shipped: IndexDef[]): Record<string, IndexDef[]> {
  return {
    none: [],
    'seed-gin': [{
      name: 'idx_job_summaries_cancel_reason',
      definition: `CREATE INDEX idx_job_summaries_cancel_reason ON ${TABLE} USING GIN ((results -> 'cancel_reason'))`,
    }],
    'inserted-at': [{ name: 'bench_inserted_at', definition: `CREATE INDEX bench_inserted_at ON ${TABLE} (inserted_at)` }],
    'reason-btree': [{
      name: 'bench_reason_btree',
      definition: `CREATE INDEX bench_reason_btree ON ${TABLE} ((results ->> 'cancel_reason')) WHERE state = 'cancelled'`,
    }],
    shipped,
  };
}

interface Result {
  rows: number;
  variant: string;
  query: string;
  /** The planner chose the same plan as for this variant, so its measurement stands for both. */
  same_plan_as?: string;
  what: string;
  runs: number;
  execution_ms: number;
  planning_ms: number;
  wall_ms: number | null;
  result_rows: number;
  indexes_used: string[];
  top_nodes: string;
  plan_file: string;
}
interface IndexResult {
  rows: number;
  variant: string;
  name: string;
  bytes: number;
  build_ms: number;
}

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', multiple: true },
    variant: { type: 'string', multiple: true },
    runs: { type: 'string', default: '5' },
  },
});
const sizes = (args.rows ?? ['3000', '100000', '1000000']).flatMap((r) => r.split(',')).map(Number);
const runs = Number(args.runs);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(runs) || runs < 1) {
  throw new Error('usage: npm run explain -- [--rows N]… [--variant NAME]… [--runs R]');
}

async function explain(client: pg.Client, query: Query) {
  const { rows } = await client.query({
    text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query.text}`,
    values: query.values as unknown[],
  });
  const [result] = rows[0]['QUERY PLAN'] as [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }];
  return result;
}

/** The plan's shape without running it: node types, relations and indexes, no costs. */
async function planShape(client: pg.Client, query: Query): Promise<string> {
  const { rows } = await client.query({ text: `EXPLAIN (FORMAT JSON) ${query.text}`, values: query.values as unknown[] });
  const shape = (n: PlanNode): unknown => [n['Node Type'], n['Relation Name'], n['Index Name'], (n.Plans ?? []).map(shape)];
  return JSON.stringify(shape(rows[0]['QUERY PLAN'][0].Plan));
}

async function measure(client: pg.Client, rows: number, variant: string, query: Query): Promise<Result> {
  const warm = await explain(client, query);
  // A query over a second is run fewer times: the harness must finish in minutes at 1M rows.
  const n = warm['Execution Time'] > 1000 ? Math.min(runs, 3) : runs;
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await explain(client, query));
  const byTime = [...samples].sort((a, b) => a['Execution Time'] - b['Execution Time']);
  const typical = byTime[byTime.length >> 1]!;
  let wall: number | null = null;
  if (query.wall) {
    const times = [];
    for (let i = 0; i < Math.min(n, 3); i++) {
      const started = performance.now();
      await client.query({ text: query.text, values: query.values as unknown[] });
      times.push(performance.now() - started);
    }
    wall = median(times);
  }
  const planFile = `${PLANS_DIR}/${rows}-${variant}-${query.id}.txt`;
  await writeFile(
    planFile,
    `-- ${query.what}\n-- ${rows.toLocaleString('en')} rows, variant ${variant}, median of ${n} runs\n` +
      `${query.text.replace(/\s+/g, ' ').trim()}\n-- values: ${JSON.stringify(query.values)}\n\n` +
      `${renderPlan(typical.Plan)}\nPlanning Time: ${typical['Planning Time']} ms\nExecution Time: ${typical['Execution Time']} ms\n`,
  );
  return {
    rows,
    variant,
    query: query.id,
    what: query.what,
    runs: n,
    execution_ms: median(samples.map((s) => s['Execution Time'])),
    planning_ms: median(samples.map((s) => s['Planning Time'])),
    wall_ms: wall,
    result_rows: typical.Plan['Actual Rows'] ?? 0,
    indexes_used: indexesUsed(typical.Plan),
    top_nodes: topNodes(typical.Plan),
    plan_file: planFile,
  };
}

async function extraIndexes(client: pg.Client): Promise<IndexDef[]> {
  const { rows } = await client.query<IndexDef>(`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = '${TABLE}'::regclass AND NOT i.indisprimary AND NOT i.indisunique
    ORDER BY 1`);
  return rows;
}

const fmt = (ms: number | null) => (ms === null ? '–' : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));

function markdown(results: Result[], indexes: IndexResult[], info: Machine, command: string): string {
  const variantNames = [...new Set(results.map((r) => r.variant))];
  const lines = [
    `Measured ${info.date} on commit ${info.commit}: Node ${info.node}, PostgreSQL ${info.postgres}, ${info.cpus}, ` +
      `${info.memory_gib} GiB, load average before the run ${info.load}.`,
    `Command: \`${command}\`. Times are the median of EXPLAIN (ANALYZE, BUFFERS) "Execution Time" in ms ` +
      '(the ratio to `none` in brackets); "wall" is the same query run plainly from the client (median).',
    '',
  ];
  for (const rows of new Set(results.map((r) => r.rows))) {
    lines.push(`### ${rowsLabel(rows)} rows`, '', `| query | ${variantNames.join(' | ')} | wall (${variantNames.at(-1)}) | rows | plan (${variantNames.at(-1)}) |`);
    lines.push(`|---|${variantNames.map(() => '---:').join('|')}|---:|---:|---|`);
    for (const query of QUERIES) {
      const cells = variantNames.map((variant) => {
        const r = results.find((x) => x.rows === rows && x.variant === variant && x.query === query.id);
        const base = results.find((x) => x.rows === rows && x.variant === 'none' && x.query === query.id);
        if (!r) return '';
        const ratio = base && variant !== 'none' ? ` (${(base.execution_ms / r.execution_ms).toFixed(1)}×)` : '';
        const used = r.indexes_used.filter((i) => !i.endsWith('_pkey')).length ? ' ✓' : '';
        if (r.same_plan_as) return `= ${r.same_plan_as}`;
        return `[${fmt(r.execution_ms)}](../${r.plan_file})${ratio}${used}`;
      });
      const last = results.find((x) => x.rows === rows && x.variant === variantNames.at(-1) && x.query === query.id);
      if (!last) continue;
      lines.push(`| ${query.what} | ${cells.join(' | ')} | ${fmt(last.wall_ms)} | ${last.result_rows} | ${last.top_nodes} |`);
    }
    lines.push('', '✓: the plan uses an index. "= none": the planner chose the no-index plan again, so it was not re-run.', '');
  }
  lines.push('### Index sizes and build times', '', '| rows | variant | index | size | build |', '|---:|---|---|---:|---:|');
  for (const i of indexes) {
    lines.push(`| ${rowsLabel(i.rows)} | ${i.variant} | ${i.name} | ${(i.bytes / 2 ** 20).toFixed(1)} MiB | ${fmt(i.build_ms)} ms |`);
  }
  return lines.join('\n');
}

async function main() {
  // The plans of one run, never mixed with an earlier run's.
  await rm(PLANS_DIR, { recursive: true, force: true });
  await mkdir(PLANS_DIR, { recursive: true });
  const results: Result[] = [];
  const indexes: IndexResult[] = [];
  let info: Machine | undefined;
  const started = performance.now();
  for (const rows of sizes) {
    console.log(`${rowsLabel(rows)} rows:`);
    const db = await seededDatabase(rows, console.log);
    try {
      await withClient(db.url, async (client) => {
        info ??= await machine(db.url);
        const shipped = await extraIndexes(client);
        for (const index of shipped) await client.query(`DROP INDEX ${index.name}`);
        const all = variants(shipped);
        const shapes = new Map<string, { shape: string; result: Result }>();
        for (const [variant, defs] of Object.entries(all)) {
          if (args.variant && !args.variant.includes(variant)) continue;
          for (const def of defs) {
            const t0 = performance.now();
            await client.query(def.definition);
            const build = performance.now() - t0;
            const size = await client.query<{ b: string }>(`SELECT pg_relation_size($1::regclass) AS b`, [def.name]);
            indexes.push({ rows, variant, name: def.name, bytes: Number(size.rows[0]!.b), build_ms: build });
          }
          await client.query(`ANALYZE ${TABLE}`);
          for (const query of QUERIES) {
            // A plan identical to the no-index plan is not run again: the harness must finish in minutes.
            const shape = await planShape(client, query);
            const baseline = shapes.get(query.id);
            const reused = baseline && baseline.shape === shape ? baseline.result : undefined;
            const result = reused ? { ...reused, variant, same_plan_as: reused.variant } : await measure(client, rows, variant, query);
            if (variant === 'none') shapes.set(query.id, { shape, result });
            results.push(result);
            console.log(`  ${variant.padEnd(12)} ${query.id.padEnd(24)} ${fmt(result.execution_ms).padStart(8)} ms  ${result.same_plan_as ? `= ${result.same_plan_as}` : result.indexes_used.join(',')}`);
          }
          for (const def of defs) await client.query(`DROP INDEX ${def.name}`);
        }
      });
    } finally {
      await db.stop();
    }
  }
  const command = `npm run explain -- ${process.argv.slice(2).join(' ')}`.trim();
  const seconds = (performance.now() - started) / 1000;
  await writeFile('bench/results/explain-results.json', `${JSON.stringify({ machine: info, command, seconds, indexes, results }, null, 2)}\n`);
  const table = `${markdown(results, indexes, info!, command)}\n\nThe whole run took ${seconds.toFixed(0)} s.`;
  await writeResults('docs/EXPLAIN.md', 'EXPLAIN ANALYZE', 'npm run explain', table);
  console.log(`wrote docs/EXPLAIN.md, ${PLANS_DIR}/, bench/results/explain-results.json in ${seconds.toFixed(0)} s`);
}

await main();
