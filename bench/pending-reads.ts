/**
 * npm run bench:pending-reads -- [--base N] [--pending P] [--rounds R] — what a metrics read costs
 * while a backlog waits to be folded, and what three choices buy (docs/BENCHMARKS.md, "Reads during
 * a backlog"). Two databases, no service (nothing folds):
 * - with history: N rows (default 1M) over a year, then P rows (default 1M) in the last hour,
 *   appended in statements of 10,000 (each waits in job_rollup_pending);
 * - all pending: the P rows alone, so no rollup row lies in any window (every row pending after an
 *   outage, on a young database).
 * Each window's statement runs as the metrics pool runs it (prepared, generic plan, jit off), median
 * of 7, the variants taking turns for R rounds (default 2):
 * - installed;
 * - bins per read: the pending rows' stored bin replaced by `job_rollup_bin(duration_ms)`, the read
 *   before migration 1764060000000;
 * - work_mem 16MB (the server's default is 4MB): tried, and reverted, as the sessions' setting;
 * - hash ×2: hash_mem_multiplier at the server's default (2), the read before the sessions set 8;
 * - sort all: percentile_cont however many rows (`exactPercentileRows` unbounded), the read before
 *   the 50,000-row limit.
 * Prints markdown tables of the medians, and the executions and max each variant answered.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withSessionOptions } from '../src/db/pool.ts';
import { rollupMetricsQuery, type RollupQueryOptions } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { machine, median } from './lib/seeded-database.ts';
import { BIG_WORKER, loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';

const { values } = parseArgs({
  options: { base: { type: 'string', default: '1000000' }, pending: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '2' } },
});
const [BASE, PENDING, ROUNDS] = [Number(values.base), Number(values.pending), Number(values.rounds)];
const WINDOWS = [
  ['system 24 h', 24, undefined],
  ['system 8760 h', 8760, undefined],
  ['system 1 h', 1, undefined],
  ['big worker 24 h', 24, BIG_WORKER],
] as const;

interface Variant {
  name: string;
  client: pg.Client;
  options?: RollupQueryOptions;
  rewrite?: (text: string) => string;
}

/** The read before migration 1764060000000: each pending row's bin worked out by the read. */
const binsPerRead = (text: string) => {
  if (!text.includes('q.bin,')) throw new Error('the pending rows no longer select q.bin: update bench:pending-reads');
  return text.replace('q.bin,', 'job_rollup_bin(q.duration_ms) AS bin,');
};

/** The URL with these session options after the service's own (so they win). */
const optioned = (url: string, options: string) => {
  const parsed = new URL(url);
  parsed.searchParams.set('options', options);
  return parsed.toString();
};

async function measure(label: string, base: number) {
  const db = await yearDatabase(base, 'pending-reads');
  const clients: pg.Client[] = [];
  const connect = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  };
  try {
    for (let from = base + 1; from <= base + PENDING; from += 10_000) {
      await db.client.query(loadSql(from, Math.min(base + PENDING, from + 9_999), `now() - make_interval(secs => 3600 * random())`));
    }
    await db.client.query('VACUUM ANALYZE job_rollup_pending');
    if (label === 'With history') {
      const info = await machine(db.url);
      console.log(
        `npm run bench:pending-reads -- --base ${BASE} --pending ${PENDING} --rounds ${ROUNDS}: commit ${info.commit}, ${info.cpus}, ` +
          `PostgreSQL ${info.postgres}, load ${info.load}; median of 7 per window and variant, one figure per round (variants in turn)`,
      );
    }
    const pending = Number((await db.client.query('SELECT count(*) AS n FROM job_rollup_pending')).rows[0].n);
    const service = await connect(withSessionOptions(db.url, true));
    const large = optioned(db.url, '-c work_mem=16MB');
    const variants: Variant[] = [
      { name: 'installed', client: service },
      { name: 'bins per read', client: service, rewrite: binsPerRead },
      { name: 'work_mem 16MB', client: await connect(withSessionOptions(large, true)) },
      { name: 'hash ×2', client: await connect(withSessionOptions(optioned(db.url, '-c hash_mem_multiplier=2'), true)) },
      ...(base === 0 ? [{ name: 'sort all', client: service, options: { exactPercentileRows: Number.MAX_SAFE_INTEGER } }] : []),
    ];
    const times = new Map<string, number[]>();
    const answers = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [window, hours, worker] of WINDOWS) {
        for (const [index, variant] of variants.entries()) {
          const query = rollupMetricsQuery(hours, 0, worker, undefined, variant.options);
          const text = query.sql.replace(/\$slonik_(\d+)/g, '$$$1');
          const statement = { name: `pending_reads_${index}_${worker ? 'worker' : 'system'}`, text: variant.rewrite?.(text) ?? text, values: [...query.values] };
          const ms: number[] = [];
          let row: { executions: string; duration_max: number | null } | undefined;
          for (let i = 0; i < 7; i++) {
            const started = performance.now();
            row = (await variant.client.query(statement)).rows[0];
            ms.push(performance.now() - started);
          }
          const key = `${window}|${variant.name}`;
          times.set(key, [...(times.get(key) ?? []), median(ms)]);
          answers.set(key, `${row!.executions} executions, max ${row!.duration_max}`);
        }
      }
    }
    console.log(`\n### ${label}: ${base.toLocaleString('en')} rows over a year, ${pending.toLocaleString('en')} pending in the last hour\n`);
    console.log(`| window | ${variants.map((v) => `${v.name}, ms`).join(' | ')} |\n|---|${variants.map(() => '---:').join('|')}|`);
    for (const [window] of WINDOWS) {
      console.log(`| ${window} | ${variants.map((v) => times.get(`${window}|${v.name}`)!.map((x) => x.toFixed(0)).join(' / ')).join(' | ')} |`);
    }
    // Rows leave a 1 h window as the run goes on: only the longer windows hold still to compare.
    for (const [window] of WINDOWS.filter(([, hours]) => hours > 1)) {
      const found = new Set(variants.map((v) => answers.get(`${window}|${v.name}`)));
      console.log(`- ${window}: ${found.size === 1 ? `every variant answered ${[...found][0]}` : `ANSWERS DIFFER: ${[...found].join('; ')}`}`);
    }
  } finally {
    for (const client of clients) await client.end().catch(() => {});
    await db.stop();
  }
}

await measure('With history', BASE);
await measure('All pending', 0);
