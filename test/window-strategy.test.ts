import t, { type Test } from 'tap';
import { sql, type CommonQueryMethods } from 'slonik';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { createWindowStrategy, windowMetrics } from '../src/metrics/window-metrics.ts';
import { startTestDatabase } from './helpers/database.ts';
import { insertRows, oracle, type TestRow } from './helpers/rows.ts';

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
  const metrics = await windowMetrics(on, using, hours, WORKER);
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
  t.equal(await windowMetrics(db.pool, strategy, 24, WORKER), null, 'every row gone: unknown, on the rollup path too');
  t.equal(await windowMetrics(db.pool, strategy, 24, WORKER), null, 'and on the size path');
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
  t.equal(await windowMetrics(counting, fresh, 3, 'Strategy.Other'), null, 'another scope: unknown, not taken for large');
  await removeAllBut(12);
  await asked('720 h after the shrink: the rollups, then exact', 720, 'exact', 'rollup, exact');
  await asked('720 h again: the size first', 720, 'exact', 'size, exact');
  await asked('8760 h: still taken for large, found small', 8760, 'exact', 'rollup, exact');
  await add(25);
  await asked('2 h, grown again: the size first', 2, 'rollup', 'size, rollup');
  await asked('24 h: the shortcut is back', 24, 'rollup', 'rollup');
});
