/**
 * npm run bench:fold -- [--rows N] [--rounds R] — what `job_rollup_fold()` costs per pending row,
 * as installed (migration 1764070000000: ten-second rows too, counts and bins summed apart) against
 * the functions it replaced: one statement with GROUPING SETS (1764050000000, restored by
 * 1764070000000's down step) and two statements (restored by 1764050000000's down step as well).
 * 1M rows over a year (the seed's shape) with every migration, then N pending rows (default 200,000)
 * appended in statements of 10,000, as a backlog is after an outage of the folders, in two shapes:
 * all in the last hour, and late rows 1 h to 7 days old (more buckets per row). Each fold runs in a
 * transaction rolled back, so every round folds the same rows; the rollup tables' digest after each
 * fold (ten-second rows left out: only the installed fold writes them) shows every function writes
 * the same rows. Prints every time and the medians; docs/BENCHMARKS.md records a run.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { machine } from './lib/seeded-database.ts';
import { loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.rows);
const ROUNDS = Number(values.rounds);
const SEED_ROWS = 1_000_000;
const SHAPES = {
  'last hour': `now() - make_interval(secs => 3600 * random())`,
  'late, 1 h to 7 days': `now() - make_interval(secs => 3600 + 6 * 86400 * random())`,
};

const db = await yearDatabase(SEED_ROWS, 'fold');
const { client } = db;
try {
  const down = (name: string) => readFile(new URL(`../migrations/sql/${name}.down.sql`, import.meta.url), 'utf8');
  const [withoutTenSeconds, twoStatements] = [await down('1764070000000_ten-second-rollups'), await down('1764050000000_fold-in-one-statement')];
  const functions = {
    'ten seconds too (installed)': async () => {},
    'one statement (1764050000000)': async () => void (await client.query(withoutTenSeconds)),
    'two statements (before it)': async () => {
      await client.query(withoutTenSeconds);
      await client.query(twoStatements);
    },
  };
  // Minute rollups older than 792 h are deleted by each fold at its own now(): the digest leaves
  // out the hour after that line, which a fold later in the run may already have crossed.
  const { rows: [{ cutoff }] } = await client.query(`SELECT (now() - interval '791 hours')::text AS cutoff`);
  /** md5 of a rollup table's rows (`columns` of `table`): no ten-second rows, no minutes before the cutoff. */
  const digest = async (table: string, columns: string) =>
    (
      await client.query(
        `SELECT md5(string_agg(r::text, ',' ORDER BY r::text)) AS d FROM (
           SELECT ${columns} FROM ${table}
           WHERE grain <> 'ten_seconds' AND (grain <> 'minute' OR bucket >= $1::timestamptz)) r`,
        [cutoff],
      )
    ).rows[0].d as string;
  const rollupsDigest = async () =>
    `${await digest('job_rollups', 'grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest')}/` +
    (await digest('job_rollup_reasons', 'grain, worker, bucket, reason, n'));

  const results: { shape: string; fn: string; ms: number[]; digests: Set<string> }[] = [];
  let nextJob = SEED_ROWS + 1;
  for (const [shape, insertedAt] of Object.entries(SHAPES)) {
    // No folder runs here (no service): the appended rows stay pending.
    for (let done = 0; done < N; done += 10_000) {
      const rows = Math.min(10_000, N - done);
      await client.query(loadSql(nextJob, nextJob + rows - 1, insertedAt));
      nextJob += rows;
    }
    await client.query('VACUUM ANALYZE job_rollup_pending');
    for (const fn of Object.keys(functions)) results.push({ shape, fn, ms: [], digests: new Set() });
    for (let round = 0; round < ROUNDS; round++) {
      for (const [fn, prepare] of Object.entries(functions)) {
        await client.query('BEGIN');
        await prepare();
        const started = performance.now();
        const { rows: [{ folded }] } = await client.query('SELECT job_rollup_fold() AS folded');
        const ms = performance.now() - started;
        if (Number(folded) !== N) throw new Error(`${fn} folded ${folded} rows, expected ${N}`);
        const result = results.find((r) => r.shape === shape && r.fn === fn)!;
        result.ms.push(ms);
        result.digests.add(await rollupsDigest());
        await client.query('ROLLBACK');
        await client.query('VACUUM job_rollup_pending, job_rollups, job_rollup_reasons');
      }
    }
    await client.query('SELECT job_rollup_fold()');
  }

  const info = await machine(db.url);
  console.log(`npm run bench:fold -- --rows ${N} --rounds ${ROUNDS}: commit ${info.commit}, ${info.cpus}, PostgreSQL ${info.postgres}, load ${info.load}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`| pending rows | fold | ms per fold of ${N.toLocaleString('en')} rows, each round | median | rows/s |\n|---|---|---|---:|---:|`);
  for (const { shape, fn, ms } of results) {
    console.log(`| ${shape} | ${fn} | ${ms.map((x) => x.toFixed(0)).join(', ')} | ${median(ms).toFixed(0)} | ${Math.round(N / (median(ms) / 1000)).toLocaleString('en')} |`);
  }
  for (const shape of Object.keys(SHAPES)) {
    const digests = new Set(results.filter((r) => r.shape === shape).flatMap((r) => [...r.digests]));
    console.log(`${shape}: ${digests.size === 1 ? 'every function wrote the same rollup rows in every round' : `DIFFERENT rollup rows: ${[...digests].join(' ')}`}`);
  }
} finally {
  await db.stop();
}
