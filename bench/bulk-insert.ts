/**
 * npm run bench:bulk-insert — what a bulk INSERT costs now that a statement of more than 10,000 rows
 * folds its own rows (migration 1764040000000), against the append to job_rollup_pending it replaced
 * and against no trigger at all. 1M rows over a year (the seed's shape) with every migration, then
 * rounds of one INSERT of --rows rows (default 100,000) in the last hour under each of the three
 * trigger functions (the append also without the pending rows' stored bin), each in a transaction
 * rolled back (and vacuumed) so the table stays the same.
 * Prints every time and the medians; docs/BENCHMARKS.md records a run.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { machine } from './lib/seeded-database.ts';
import { loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.rows);
const ROUNDS = Number(values.rounds);
const SEED_ROWS = 1_000_000;

const db = await yearDatabase(SEED_ROWS, 'bulk-insert');
const { client } = db;
try {
  // The function this migration replaced, as its down step restores it.
  const appendOnly = await readFile(new URL('../migrations/sql/1764040000000_fold-bulk-inserts.down.sql', import.meta.url), 'utf8');
  const modes = {
    'folds its own rows (installed)': async () => {},
    'appends to the pending table (before)': async () => void (await client.query(appendOnly)),
    // The same, before migration 1764060000000 gave each pending row its stored histogram bin.
    'appends, no stored bin': async () => {
      await client.query(appendOnly);
      await client.query('ALTER TABLE job_rollup_pending DROP COLUMN bin');
    },
    'no trigger': async () => void (await client.query('ALTER TABLE job_execution_summaries DISABLE TRIGGER job_rollup_insert')),
  };
  const times = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mode, prepare] of Object.entries(modes)) {
      await client.query('BEGIN');
      await prepare();
      const started = performance.now();
      await client.query(loadSql(SEED_ROWS + 1, SEED_ROWS + N, `now() - make_interval(secs => 3600 * random())`));
      times.get(mode)!.push(performance.now() - started);
      await client.query('ROLLBACK');
      await client.query('VACUUM job_execution_summaries, job_rollup_pending, job_rollups, job_rollup_reasons');
    }
  }
  const info = await machine(db.url);
  console.log(`npm run bench:bulk-insert -- --rows ${N} --rounds ${ROUNDS}: commit ${info.commit}, ${info.cpus}, PostgreSQL ${info.postgres}, load ${info.load}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(times.get('no trigger')!);
  console.log(`| insert trigger | ms per ${N.toLocaleString('en')}-row INSERT, each round | median | vs no trigger |\n|---|---|---:|---:|`);
  for (const [mode, ms] of times) {
    console.log(`| ${mode} | ${ms.map((x) => x.toFixed(0)).join(', ')} | ${median(ms).toFixed(0)} | ${((median(ms) / base - 1) * 100).toFixed(0)} % |`);
  }
} finally {
  await db.stop();
}
