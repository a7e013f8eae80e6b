import t, { type Test } from 'tap';
import { sql, type CommonQueryMethods } from 'slonik';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { createWindowStrategy, windowMetrics } from '../src/metrics/window-metrics.ts';
import { startTestDatabase } from './helpers/database.ts';
import { z } from 'zod';
import { PERCENTILE_ERROR_BOUND } from '../src/metrics/rollup/histogram.ts';
import { HistogramCache } from '../src/metrics/rollup/histogram-cache.ts';
import { readRollupRow, rollupWindow } from '../src/metrics/rollup/rollup-metrics.ts';
import { durationDifferences, insertRows, oracle, type TestRow } from './helpers/rows.ts';

// A window at least as long as one last found large in its scope goes straight to the rollup query,
// which asks the size in the same statement (window-metrics.ts). Whatever the path, the method must
// follow the window's size now, and an unknown worker must stay a 404.

const db = await startTestDatabase(t);
const WORKER = 'Strategy.Worker';
const LIMIT = 20;
const strategy = createWindowStrategy(LIMIT);
let rows: TestRow[] = [];
let jobId = 0;

async function add(count: number) {
  const more = Array.from({ length: count }, (_, i): TestRow => ({
    job_id: ++jobId,
    worker: WORKER,
    state: i % 3 === 0 ? 'cancelled' : 'completed',
    results: i % 3 === 0 ? { cancel_reason: i % 2 === 0 ? 'gone' : null } : undefined,
    duration_ms: 10 + i * 37,
    age_s: 60 + i * 97,
  }));
  rows.push(...more);
  await insertRows(db.pool, more);
  await foldPending(db.pool);
}

async function removeAllBut(keep: number) {
  const gone = rows.slice(keep).map((r) => r.job_id);
  rows = rows.slice(0, keep);
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ANY(${sql.array(gone, 'int8')})`);
  await foldPending(db.pool);
}

async function read(t: Test, label: string, method: 'exact' | 'rollup', hours = 24, on: CommonQueryMethods = db.pool, using = strategy) {
  const metrics = await windowMetrics(on, using, { hours, worker: WORKER });
  if (metrics === null) return t.fail(`${label}: the worker is known`);
  const expected = oracle(rows, hours, WORKER);
  t.equal(metrics.meta?.method, method, `${label}: ${method}`);
  t.equal(metrics.executions, expected.executions, `${label}: executions`);
  t.same(metrics.cancellations, expected.cancellations, `${label}: cancellations`);
  t.equal(metrics.duration_ms?.max, expected.duration_ms?.max, `${label}: max`);
}

t.test('the method follows the size on either path; an unknown worker stays unknown', async (t) => {
  await add(30);
  await read(t, 'first read, 30 rows', 'rollup');
  await read(t, 'again, the size asked with the rollups', 'rollup');
  await removeAllBut(12);
  await read(t, 'shrunk to 12 rows', 'exact');
  await read(t, 'again, the size asked first', 'exact');
  await add(25);
  await read(t, 'grown to 37 rows', 'rollup');
  await removeAllBut(0);
  t.equal(await windowMetrics(db.pool, strategy, { hours: 24, worker: WORKER }), null, 'every row gone: unknown, on the rollup path too');
  t.equal(await windowMetrics(db.pool, strategy, { hours: 24, worker: WORKER }), null, 'and on the size path');
});

t.test('a window longer than one found large skips the size query, first time asked or not', async (t) => {
  await add(30);
  const fresh = createWindowStrategy(LIMIT);
  let statements: string[] = [];
  // Which statements a read runs, by name: window_size, window_rollup, window_exact (per scope).
  const counting = new Proxy(db.pool, {
    get: (target, key) =>
      key === 'one'
        ? (query: Parameters<typeof target.one>[0]) => {
            statements.push((query.name ?? 'unnamed').replace(/^window_(\w+?)_.*$/, '$1'));
            return target.one(query);
          }
        : Reflect.get(target, key),
  });
  const asked = async (label: string, hours: number, method: 'exact' | 'rollup', expected: string) => {
    statements = [];
    await read(t, label, method, hours, counting, fresh);
    t.equal(statements.join(', '), expected, `${label}: ${expected}`);
  };
  await asked('24 h, first of its scope', 24, 'rollup', 'size, rollup');
  await asked('48 h, never asked, longer', 48, 'rollup', 'rollup');
  await asked('8760 h, never asked, longer', 8760, 'rollup', 'rollup');
  await asked('2 h, shorter: the size first', 2, 'rollup', 'size, rollup');
  await asked('3 h, longer than 2 h now', 3, 'rollup', 'rollup');
  t.equal(await windowMetrics(counting, fresh, { hours: 3, worker: 'Strategy.Other' }), null, 'another scope: unknown, not taken for large');
  await removeAllBut(12);
  await asked('720 h after the shrink: the rollups, then exact', 720, 'exact', 'rollup, exact');
  await asked('720 h again: the size first', 720, 'exact', 'size, exact');
  await asked('8760 h: still taken for large, found small', 8760, 'exact', 'rollup, exact');
  await add(25);
  await asked('2 h, grown again: the size first', 2, 'rollup', 'size, rollup');
  await asked('24 h: the shortcut is back', 24, 'rollup', 'rollup');
});

// After an outage every row of a recent window can still be pending, with no rollup row to read:
// percentile_cont over them while they are few, their histogram (within its bound) past
// `exactPercentileRows`, and the counts, average and max exact either way.
t.test('a window of pending rows only: exact percentiles up to the limit, then the histogram', async (t) => {
  const worker = 'Pending.Only.Worker';
  const pending: TestRow[] = Array.from({ length: 400 }, (_, i): TestRow => ({
    job_id: 1_000_000 + i,
    worker,
    state: i % 5 === 0 ? 'cancelled' : 'completed',
    results: i % 5 === 0 ? { cancel_reason: i % 2 === 0 ? 'gone' : null } : undefined,
    duration_ms: i % 7 === 0 ? undefined : 3 + ((i * 7919) % 100_000),
    age_s: 30 + i * 20,
  }));
  await insertRows(db.pool, pending);
  const waiting = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM job_rollup_pending WHERE worker = ${worker}`);
  t.equal(waiting, 400, 'every row waits for the fold');
  const expected = oracle(pending, 24, worker);
  for (const [limit, method] of [[400, 'exact'], [399, 'rollup']] as const) {
    const { row, meta } = rollupWindow(await readRollupRow(db.pool, new HistogramCache(), { hours: 24, worker, exactPercentileRows: limit }));
    t.equal(meta.method, method, `limit ${limit}: ${method}`);
    t.equal(meta.percentile_error_bound, method === 'exact' ? 0 : PERCENTILE_ERROR_BOUND, `limit ${limit}: the bound it states`);
    t.equal(row.executions, expected.executions, `limit ${limit}: executions`);
    t.same(row.by_reason, expected.cancellations.by_reason, `limit ${limit}: reasons`);
    t.equal(row.unknown_reasons, expected.cancellations.unknown, `limit ${limit}: unknown reasons`);
    const [p50, p95, p99] = row.duration_pct ?? [];
    const found = { avg: row.duration_avg!, p50: p50!, p95: p95!, p99: p99!, max: row.duration_max! };
    t.same(durationDifferences(found, expected.duration_ms, meta.percentile_error_bound), [], `limit ${limit}: durations`);
    if (method === 'rollup') t.not(p95, expected.duration_ms!.p95, 'past the limit the p95 is an estimate, not the sort (the check can fail)');
  }
});
