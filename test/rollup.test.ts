import { EXACT_MAX_ROWS, loadConfig } from '../src/config.ts';
import t from 'tap';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pWaitFor from 'p-wait-for';
import { sql, type DatabaseConnection } from 'slonik';
import { z } from 'zod';
import { histogramPercentiles, HISTOGRAM_THRESHOLDS, PERCENTILE_ERROR_BOUND, binEstimate } from '../src/metrics/rollup/histogram.ts';
import { rebuildRollups } from '../src/metrics/rollup/backfill.ts';
import { auditRollups, verifyWindow } from '../src/metrics/rollup/verify.ts';
import { foldPending, foldQuery, shrinkPending, SHRINK_PENDING_BYTES } from '../src/metrics/rollup/fold-loop.ts';
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { FOLD_LOCK_KEY } from '../src/metrics/rollup/rollup-upserts.ts';
import { withSessionOptions } from '../src/db/pool.ts';
import { executeArgs, pgQuery, planNodes, type PlanNode } from '../bench/lib/plan.ts';
import { STATES } from '../src/schemas/common.ts';
import { timeseriesQuery } from '../src/metrics/timeseries-query.ts';
import { get, startTestApp } from './helpers/app.ts';
import { EMBEDDED_SERVER, startTestDatabase } from './helpers/database.ts';
import { insertRows, type Json, type TestRow } from './helpers/rows.ts';

// Property runs and the shapes' oracle checks: more than tap's default 120 s on a busy machine.
t.setTimeout(600_000);
const db = await startTestDatabase(t);
const audit = new pg.Client({ connectionString: db.url });
await audit.connect();
t.teardown(() => audit.end());

const WORKERS = ['a.Worker', 'b.Worker', 'Ünï "q" / w', 'unknown'];
const WINDOWS = [1, 3, 30, 200, 2000, 8760]; // minutes only; hours; days; days and a month; months; a year
const DAY = 86_400;
/** Longer than a B-tree entry can hold, and incompressible: the reasons key must not depend on it. */
const LONG_REASON = randomBytes(1600).toString('hex');
let nextJob = 1;

const rowArb = fc.record({
  worker: fc.constantFrom(...WORKERS),
  state: fc.constantFrom(...STATES),
  results: fc.constantFrom<Json | undefined>(
    undefined, null, {}, { cancel_reason: null }, ['x'], { cancel_reason: 'a' }, { cancel_reason: 'unknown' },
    { cancel_reason: '' }, { cancel_reason: 'b' }, { cancel_reason: 7 }, { cancel_reason: LONG_REASON },
  ),
  duration_ms: fc.oneof(
    fc.constant(null), fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 61, max: 2_000_000 }),
    fc.constant(2_147_483_647),
  ),
  // recent rows, rows up to a few minutes in the future, late rows weeks or a year old
  age_s: fc.oneof(fc.integer({ min: -300, max: 7_200 }), fc.integer({ min: 0, max: 40 * DAY }), fc.integer({ min: 0, max: 400 * DAY })),
});

const setArb = fc.oneof(
  fc.constantFrom(...STATES).map((v) => sql.fragment`state = ${v}`),
  fc.constantFrom<Json>({ cancel_reason: 'a' }, {}, { cancel_reason: 'unknown' }, null).map((v) => sql.fragment`results = ${sql.jsonb(v)}`),
  fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 5_000_000 })).map((v) => sql.fragment`duration_ms = ${v}`),
  fc.constantFrom(...WORKERS).map((v) => sql.fragment`worker = ${v}`),
  fc.integer({ min: -600, max: 30 * DAY }).map((v) => sql.fragment`inserted_at = inserted_at - make_interval(secs => ${v})`),
);

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.array(rowArb, { minLength: 1, maxLength: 40 }).map((rows) => ({ kind: 'insert' as const, rows })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), mod: fc.integer({ min: 2, max: 7 }), set: setArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), mod: fc.integer({ min: 3, max: 9 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate' as const }) },
  // the service's background fold, racing the writers; a small batch leaves some rows pending
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }).map((rows) => ({ kind: 'fold' as const, rows })) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Concurrent connections touch disjoint raw rows (id % lanes), and the same rollup rows. */
async function run(connection: DatabaseConnection, op: Op, lane: number, lanes: number, salt: number) {
  const mine = sql.fragment`id % ${lanes} = ${lane} AND (id / ${lanes}) % ${op.kind === 'update' || op.kind === 'delete' ? op.mod : 1} = ${salt % 2}`;
  switch (op.kind) {
    case 'insert':
      return insertRows(connection as never, op.rows.map((r): TestRow => ({ ...r, job_id: nextJob++ })));
    case 'update':
      return connection.query(sql.unsafe`UPDATE job_execution_summaries SET ${op.set} WHERE ${mine}`);
    case 'delete':
      return connection.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE ${mine}`);
    case 'duplicate': // the ingest endpoint's idempotent form: existing rows are skipped, and not counted twice
      return connection.query(sql.unsafe`
        INSERT INTO job_execution_summaries (job_id, attempt, worker, state, duration_ms)
        SELECT job_id, attempt, worker, state, duration_ms FROM job_execution_summaries WHERE ${mine}
        UNION ALL SELECT ${nextJob++}, 1, 'a.Worker', 'completed', 5
        ON CONFLICT DO NOTHING`);
    case 'fold':
      return connection.query(foldQuery(op.rows));
  }
}

async function assertEveryWindowAgrees(label: string) {
  for (const worker of [undefined, ...WORKERS]) {
    for (const hours of WINDOWS) {
      const found = await verifyWindow(db.pool, hours, worker);
      if (found.length > 0) throw new Error(`${label}: ${worker ?? 'system'} ${hours} h: ${found.join('; ')}`);
    }
  }
  const drift = await auditRollups(audit);
  if (drift.length > 0) throw new Error(`${label}: rollups differ from a rebuild: ${drift.join('\n')}`);
}

t.test('histogram bins: exact integer bounds, every estimate within the bound', async (t) => {
  t.ok(PERCENTILE_ERROR_BOUND < 0.01, `bound ${PERCENTILE_ERROR_BOUND} < 1 %`);
  const bins = await db.pool.any(sql.type(z.object({ v: z.number(), bin: z.number() }))`
    SELECT v, job_rollup_bin(v) AS bin FROM unnest(${sql.array([0, 1, 50, 51, 99, 100, 101, 1234, 999_999, 2_147_483_647, ...HISTOGRAM_THRESHOLDS.slice(40, 400).flatMap((x) => [x - 1, x])], 'int4')}) AS v
  `);
  for (const { v, bin } of bins) {
    const estimate = binEstimate(bin);
    if (Math.abs(estimate - v) > PERCENTILE_ERROR_BOUND * v) t.fail(`${v} in bin ${bin} estimated as ${estimate}`);
  }
  t.equal(binEstimate(0), 0, 'a duration of 0 has its own bin');
  t.same(histogramPercentiles([{ bin: 7, n: 3 }], 7, [0.5, 1]), [7, 7], 'small values are exact');
  const add = (a: string, b: string) =>
    db.pool.oneFirst(sql.type(z.object({ h: z.array(z.array(z.number())) }))`SELECT job_rollup_hist_add(${a}::int[], ${b}::int[]) AS h`);
  t.same(await add('{{1,2},{5,1}}', '{{9,1},{0,1},{5,-1}}'), [[0, 1], [1, 2], [9, 1]], 'merge keeps bins sorted, drops zeros');
  t.same(await add('{{1,2}}', '{{1,-2},{3,1}}'), [[3, 1]], 'a histogram emptied mid-merge takes new bins');
  const many = Array.from({ length: 40 }, (_, i) => [i * 2, 1]);
  t.same(
    await add(`{{1,1},{2,-1}}`, JSON.stringify(many).replaceAll('[', '{').replaceAll(']', '}')),
    [[0, 1], [1, 1], ...many.slice(2)],
    'a big batch merges in one pass, zeros dropped',
  );
});

t.test('random concurrent writes: every window equals the raw oracle after each step', async (t) => {
  let step = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }), async (steps) => {
      for (const ops of steps) {
        step += 1;
        await Promise.all(ops.map((op, lane) => db.pool.connect((c) => run(c, op, lane, ops.length, step))));
        await assertEveryWindowAgrees(`step ${step} (${ops.map((o) => o.kind).join(', ')})`);
      }
    }),
    { numRuns: 10, seed: Number(process.env.ROLLUP_SEED ?? 20261125), endOnFailure: true },
  );
  t.pass(`${step} steps of concurrent writes, every window of every worker agrees`);
});

t.test('the API says how it computed the answer, and compares with the previous window', async (t) => {
  const byDefault = await startTestApp(t, db);
  const few = (await get(t, byDefault, '/metrics/system?hours=8760')).json();
  t.ok(few.executions <= EXACT_MAX_ROWS, 'a year of this test holds few rows…');
  t.match(few.meta, { method: 'exact', percentile_error_bound: 0 }, '…so it is answered exactly from them');
  // Force the rollups for the rest: a short window too, once a rollup row lies inside it.
  const app = await startTestApp(t, db, { config: loadConfig({ METRICS_EXACT_MAX_ROWS: '0' }) });
  await insertRows(db.pool, [{ job_id: nextJob++, worker: 'a.Worker', state: 'completed', duration_ms: 5, age_s: 1800 }]);
  await foldPending(db.pool);
  const small = (await get(t, app, '/metrics/system?hours=2')).json();
  t.equal(small.meta.method, 'rollup');
  t.equal(small.meta.percentile_error_bound, PERCENTILE_ERROR_BOUND);
  const year = (await get(t, app, '/metrics/system?hours=8760&compare=previous')).json();
  t.equal(year.meta.method, 'rollup');
  t.equal(year.meta.percentile_error_bound, PERCENTILE_ERROR_BOUND);
  t.equal(year.meta.as_of, year.window.to);
  t.equal(year.compare.previous.window.to, year.window.from, 'the previous window ends where this one starts');
  const expected = year.compare.previous.success_rate === null || year.success_rate === null ? null : year.success_rate - year.compare.previous.success_rate;
  t.equal(year.compare.deltas.success_rate, expected);
  const worker = (await get(t, app, `/metrics/worker/${encodeURIComponent(WORKERS[2]!)}?hours=30&compare=previous`)).json();
  t.equal(worker.worker, WORKERS[2]);
  t.ok(worker.compare.previous, 'the worker endpoint compares too');
  t.equal((await get(t, app, '/metrics/system?compare=next')).statusCode, 400, 'compare takes one value');
});

t.test('verify and the audit catch a tampered rollup; a rebuild repairs it', async (t) => {
  await insertRows(db.pool, [{ job_id: nextJob++, worker: 'a.Worker', state: 'completed', duration_ms: 5, age_s: 3 * DAY }]);
  await foldPending(db.pool);
  await db.pool.query(sql.unsafe`UPDATE job_rollups SET completed = completed + 1 WHERE grain = 'month' AND worker IS NULL`);
  t.not((await verifyWindow(db.pool, 8760)).length, 0, 'verify sees the difference');
  t.not((await auditRollups(audit)).length, 0, 'the audit names the bucket');
  await rebuildRollups(audit);
  t.same(await verifyWindow(db.pool, 8760), [], 'verify agrees after a rebuild');
  t.same(await auditRollups(audit), [], 'so does the audit');
});

t.test('the audit catches a ten-second row that still sums to its minute', async (t) => {
  // Ten rows of one worker in one ten seconds two hours ago: a row moved from cancelled to completed
  // keeps the minute whole (what reads check), so only the audit's comparison can see it.
  const at = new Date(Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000 + 1_000).toISOString();
  await insertRows(db.pool, Array.from({ length: 10 }, (_, i) => ({
    job_id: nextJob++, worker: 'ten.Worker', state: i % 2 === 0 ? 'completed' as const : 'cancelled' as const, duration_ms: 5 + i, age_s: 0, at: Date.parse(at) + i,
  })));
  await foldPending(db.pool);
  t.same(await auditRollups(audit), [], 'the rollups equal a rebuild');
  const { rowCount } = await db.pool.query(sql.unsafe`
    UPDATE job_rollups SET completed = completed + 1, cancelled = cancelled - 1
    WHERE grain = 'ten_seconds' AND worker = 'ten.Worker' AND bucket = date_bin('10 seconds', ${at}::timestamptz, timestamptz '2000-01-01 00:00:00+00')`);
  t.equal(rowCount, 1, 'one ten-second row tampered');
  t.match((await auditRollups(audit)).join('\n'), /ten_seconds/, 'the audit names it');
  await rebuildRollups(audit);
  t.same(await auditRollups(audit), [], 'a rebuild repairs it');
});

t.test('the service folds inserted rows into the rollups in the background; no answer changes', async (t) => {
  const pending = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM job_rollup_pending`);
  const answer = async (app: Awaited<ReturnType<typeof startTestApp>>) => {
    const { window, meta, ...rest } = (await get(t, app, '/metrics/system?hours=8760')).json();
    void window;
    return { rest, method: meta.method };
  };
  const still = await startTestApp(t, db, { config: loadConfig({ METRICS_EXACT_MAX_ROWS: '0', ROLLUP_FOLD_INTERVAL_MS: '0' }) });
  await insertRows(db.pool, Array.from({ length: 30 }, (_, i): TestRow => ({
    job_id: nextJob++, worker: WORKERS[i % WORKERS.length]!, state: STATES[i % STATES.length]!,
    results: i % 3 === 0 ? { cancel_reason: null } : { cancel_reason: `r${i % 4}` }, duration_ms: i * 37, age_s: 2 * DAY + i * 3600,
  })));
  t.ok((await pending()) >= 30, 'inserted rows wait in job_rollup_pending');
  const before = await answer(still);
  t.equal(before.method, 'rollup');
  const folding = await startTestApp(t, db, { config: loadConfig({ METRICS_EXACT_MAX_ROWS: '0', ROLLUP_FOLD_INTERVAL_MS: '20' }) });
  await folding.ready();
  // Waits for the state; 60 s only ends a broken folder (it drains 30 rows in milliseconds).
  await pWaitFor(async () => (await pending()) === 0, { timeout: 60_000 }).catch(() => {});
  t.equal(await pending(), 0, 'the folder drained them');
  t.same(await answer(folding), before, 'the same counts, reasons and durations before and after the fold');
  t.same(await auditRollups(audit), [], 'and the rollups equal a rebuild from the raw rows');
});

t.test('a drained pending table left large by reads is cut back, and no row is lost on the way', async (t) => {
  const size = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT pg_relation_size('job_rollup_pending')::int AS n`);
  const row = (i: number, age_s: number): TestRow => ({
    job_id: nextJob++, worker: WORKERS[i % WORKERS.length]!, state: STATES[i % STATES.length]!,
    results: i % 3 === 0 ? { cancel_reason: null } : { cancel_reason: `r${i % 5}` }, duration_ms: i % 9000, age_s,
  });
  const burst = Array.from({ length: 20_000 }, (_, i) => row(i, 600 + (i % 3000)));
  for (let i = 0; i < burst.length; i += 5_000) await insertRows(db.pool, burst.slice(i, i + 5_000));
  t.ok((await size()) > SHRINK_PENDING_BYTES, `the burst fills ${await size()} bytes of pending rows`);

  // A reader inside the table: VACUUM cannot cut its empty pages, nor can the folder have it.
  const reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
  t.teardown(() => reader.end());
  await reader.query('BEGIN');
  await reader.query('SELECT count(*) FROM job_rollup_pending');
  t.ok((await foldPending(db.pool)) >= burst.length, 'the burst is folded');
  t.ok((await size()) > SHRINK_PENDING_BYTES, 'while the reader holds the table, its empty pages stay');
  await reader.query('COMMIT');

  // Rows that arrive before the folder gets the table are folded by it, not truncated away.
  await insertRows(db.pool, Array.from({ length: 7 }, (_, i) => row(i, 900 + i)));
  await shrinkPending(db.pool);
  t.equal(await size(), 0, 'once the table is free, it is cut back to nothing');
  t.same(await verifyWindow(db.pool, 24), [], 'every row of the burst and after it is counted');
  t.same(await auditRollups(audit), [], 'and the rollups equal a rebuild from the raw rows');
});

t.test('a pending table grown by a backlog makes the metrics sessions plan again', async (t) => {
  // A metrics session (generic plans) prepares the system read while nothing is pending, as the
  // warm-up does. Then 25,000 rows arrive in small statements while another folder holds the lock.
  // Autovacuum would analyse the tables too, at a moment of its choosing: not during this test. Any
  // table the read touches counts: an ANALYZE of the raw rows (25,000 new ones) drops the cached
  // plan as well, and the session would plan again early.
  const tables = await db.pool.anyFirst(sql.type(z.object({ name: z.string() }))`
    SELECT relname AS name FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')`);
  for (const name of tables) await db.pool.query(sql.unsafe`ALTER TABLE ${sql.identifier([name])} SET (autovacuum_enabled = false)`);
  t.teardown(async () => {
    for (const name of tables) await db.pool.query(sql.unsafe`ALTER TABLE ${sql.identifier([name])} RESET (autovacuum_enabled)`);
  });
  await foldPending(db.pool);
  await db.pool.query(sql.unsafe`VACUUM ANALYZE job_rollup_pending`);
  const session = new pg.Client({ connectionString: withSessionOptions(db.url, true) });
  await session.connect();
  t.teardown(() => session.end());
  const { text, values } = pgQuery(rollupMetricsQuery(24, 0));
  await session.query(`PREPARE system_read AS ${text}`);
  const pendingEstimate = async () => {
    const { rows } = await session.query(`EXPLAIN (FORMAT JSON) EXECUTE system_read${executeArgs(values)}`);
    const scans = planNodes(rows[0]['QUERY PLAN'][0].Plan as PlanNode)
      .filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'job_rollup_pending');
    return Math.max(...scans.map((n) => Number(n['Plan Rows'])));
  };
  const before = await pendingEstimate();
  t.ok(before < 100, `planned over an empty pending table: ${before} rows expected`);
  const folder = new pg.Client({ connectionString: db.url });
  await folder.connect();
  t.teardown(() => folder.end());
  await folder.query('SELECT pg_advisory_lock($1)', [FOLD_LOCK_KEY]);
  const rows = Array.from({ length: 25_000 }, (_, i): TestRow => ({
    job_id: nextJob++, worker: WORKERS[i % WORKERS.length]!, state: STATES[i % STATES.length]!, results: {}, duration_ms: i, age_s: 60 + (i % 600),
  }));
  for (let i = 0; i < rows.length; i += 5_000) await insertRows(db.pool, rows.slice(i, i + 5_000));
  t.equal(await pendingEstimate(), before, 'the cached plan stays as it was while the rows wait');
  t.equal(await foldPending(db.pool), 0, 'a folder without the lock folds nothing');
  const after = await pendingEstimate();
  t.ok(after >= 20_000, `but the session planned again, expecting ${after} pending rows`);
  await foldPending(db.pool);
  t.equal(await pendingEstimate(), after, 'a table that has not grown again is not analysed again');
  await folder.query('SELECT pg_advisory_unlock($1)', [FOLD_LOCK_KEY]);
  t.equal(await foldPending(db.pool), rows.length, 'once the lock is free, every row is folded');
  t.same(await verifyWindow(db.pool, 24), [], 'and the answers are exact');
});

t.test('TRUNCATE empties the rollups too', async (t) => {
  await db.pool.query(sql.unsafe`TRUNCATE job_execution_summaries`);
  const left = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT (SELECT count(*) FROM job_rollups) + (SELECT count(*) FROM job_rollup_reasons) + (SELECT count(*) FROM job_rollup_pending) AS n
  `);
  t.equal(left, 0);
  t.same(await verifyWindow(db.pool, 8760), []);
});

/** The time series of the window against a GROUP BY over the raw rows, in one snapshot (one now()). */
async function assertSeriesAgree(label: string, hours: number, bucket: 'hour' | 'day', worker?: string) {
  const Point = z.object({ start: z.string(), executions: z.number(), completed: z.number(), cancelled: z.number(), unknown_reasons: z.number() });
  await db.pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
    const served = (await tx.any(timeseriesQuery(hours, bucket, worker))).map(({ start, executions, completed, cancelled, unknown_reasons }) =>
      ({ start, executions, completed, cancelled, unknown_reasons }));
    const oracle = await tx.any(sql.type(Point)`
      SELECT k.start, count(s.*)::int AS executions, count(*) FILTER (WHERE s.state = 'completed')::int AS completed,
        count(*) FILTER (WHERE s.state = 'cancelled')::int AS cancelled,
        count(*) FILTER (WHERE s.state = 'cancelled' AND s.results ->> 'cancel_reason' IS NULL)::int AS unknown_reasons
      FROM generate_series(date_trunc(${bucket}, now() - make_interval(hours => ${hours}), 'UTC'), date_trunc(${bucket}, now(), 'UTC'),
                           make_interval(hours => ${bucket === 'hour' ? 1 : 24})) AS k (start)
      LEFT JOIN job_execution_summaries s ON date_trunc(${bucket}, s.inserted_at, 'UTC') = k.start
        AND s.inserted_at > now() - make_interval(hours => ${hours}) AND s.inserted_at <= now()
        AND (${worker ?? null}::text IS NULL OR s.worker = ${worker ?? null})
      GROUP BY k.start ORDER BY k.start`);
    const differ = served.filter((p, i) => JSON.stringify(p) !== JSON.stringify(oracle[i]));
    if (differ.length > 0 || served.length !== oracle.length) {
      throw new Error(`${label}: ${worker ?? 'system'} ${hours} h by ${bucket}: ${JSON.stringify(differ.slice(0, 3))} vs oracle`);
    }
  });
}

async function assertShapeAgrees(label: string, audited = false) {
  for (const worker of [undefined, 'b.Worker']) {
    for (const hours of [1, 2, 24, 800, 8760]) {
      const found = await verifyWindow(db.pool, hours, worker);
      if (found.length > 0) throw new Error(`${label}: ${worker ?? 'system'} ${hours} h: ${found.join('; ')}`);
    }
    for (const [hours, bucket] of [[1, 'hour'], [48, 'day'], [720, 'hour']] as const) {
      await assertSeriesAgree(label, hours, bucket, worker);
    }
  }
  if (!audited) return;
  const drift = await auditRollups(audit);
  if (drift.length > 0) throw new Error(`${label}: rollups differ from a rebuild: ${drift.join('\n')}`);
}

/** `n` rows by one plain INSERT, `secs(i)` seconds before now() (negative: in the future), as other systems write them. */
const plainInsert = async (n: number, secs: string) => {
  await audit.query(`
    INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at)
    SELECT ${nextJob} + i, (ARRAY['a.Worker', 'a.Worker', 'a.Worker', 'b.Worker'])[1 + i % 4],
      (ARRAY['completed', 'cancelled', 'retryable', 'discarded', 'snoozed'])[1 + i % 5],
      CASE WHEN i % 3 = 0 THEN '{}'::jsonb ELSE jsonb_build_object('cancel_reason', 'r' || (i % 7)) END,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7919) % 90000 END,
      now() - make_interval(secs => ${secs})
    FROM generate_series(0, ${n - 1}) AS i`);
  nextJob += n;
};

t.test('bursts, late rows and future-stamped rows: every window and bucket equals the raw oracle', async (t) => {
  await plainInsert(3000, '(i * 10513) % (400 * 86400)'); // a year spread thin
  await foldPending(db.pool);
  await assertShapeAgrees('uniform, folded', true);
  await plainInsert(6000, '(i * 7) % 3000'); // a burst: 6,000 rows in the last 50 minutes
  await assertShapeAgrees('burst, pending');
  await db.pool.query(foldQuery(2500));
  await assertShapeAgrees('burst, partly folded');
  await foldPending(db.pool);
  await assertShapeAgrees('burst, folded', true);
  await plainInsert(2000, '3600 + (i * 9973) % (9 * 86400)'); // late: hours to days old, arriving now
  await plainInsert(300, '-1 - (i * 13) % 300'); // a skewed clock: up to five minutes ahead
  await assertShapeAgrees('late and future rows, pending');
  await foldPending(db.pool);
  await assertShapeAgrees('late and future rows, folded', true);
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id % 5 = 0 AND inserted_at > now() - interval '2 hours'`);
  await db.pool.query(sql.unsafe`UPDATE job_execution_summaries SET inserted_at = inserted_at - interval '61 seconds', duration_ms = 1
    WHERE job_id % 7 = 0 AND inserted_at > now() - interval '3 hours'`);
  await assertShapeAgrees('after UPDATE and DELETE in the burst', true);
  t.pass('every shape agrees');
});

/** Rows waiting in job_rollup_pending. */
const pendingCount = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM job_rollup_pending`);

/**
 * `n` nasty rows by one plain INSERT (as a bulk load writes them): every shape of cancel reason,
 * NULL and extreme durations, Unicode and very long worker names, spread from a year back to five
 * minutes ahead, and one row per `conflictEvery` repeating an existing (job_id, attempt).
 */
const bulkInsert = (n: number, conflictEvery = 0) => {
  const first = nextJob;
  nextJob += n;
  return audit.query(`
    INSERT INTO job_execution_summaries (job_id, attempt, worker, state, results, duration_ms, inserted_at)
    SELECT CASE WHEN ${conflictEvery} > 0 AND i % ${conflictEvery || 1} = 1 THEN 1 ELSE ${first} + i END, 1,
      (ARRAY['a.Worker', 'b.Worker', 'Ünï "q" / w', 'unknown', repeat('long.Worker', 23) || 'xy'])[1 + i % 5],
      (ARRAY['completed', 'cancelled', 'retryable', 'discarded', 'snoozed', 'cancelled'])[1 + i % 6],
      (ARRAY['{}', '{"cancel_reason": null}', 'null', NULL, '{"cancel_reason": "unknown"}', '{"cancel_reason": ""}',
             '{"cancel_reason": 7}', '{"cancel_reason": "it''s \\"q\\" ü"}', '{"cancel_reason": "movie not matched"}'])[1 + i % 9]::jsonb,
      CASE WHEN i % 13 = 0 THEN NULL WHEN i % 17 = 0 THEN 2147483647 ELSE (i * 7919) % 90000 END,
      now() - make_interval(secs => CASE WHEN i % 10 = 0 THEN (i * 10513) % (365 * 86400) WHEN i % 29 = 0 THEN -(i % 300) ELSE (i * 7) % 3600 END)
    FROM generate_series(0, ${n - 1}) AS i
    ON CONFLICT (job_id, attempt) DO NOTHING`);
};

t.test('a bulk INSERT of more than 10,000 rows folds itself; smaller ones wait for the fold', async (t) => {
  await foldPending(db.pool);
  await bulkInsert(10_000);
  t.equal(await pendingCount(), 10_000, '10,000 rows in one statement go to the pending table');
  await assertShapeAgrees('10,000 rows pending');
  await foldPending(db.pool);
  await bulkInsert(10_001);
  t.equal(await pendingCount(), 0, '10,001 rows in one statement are folded by the statement itself');
  await assertShapeAgrees('10,001 rows folded at insert', true);
  await audit.query(`SET job_metrics.insert_fold_rows = '20000'`);
  await bulkInsert(20_000);
  t.equal(await pendingCount(), 20_000, 'job_metrics.insert_fold_rows moves the line for its session');
  await audit.query(`SET job_metrics.insert_fold_rows = '1e9'`);
  await bulkInsert(10_001);
  t.equal(await pendingCount(), 20_000, 'a setting that is not a number of rows counts as unset');
  await audit.query(`RESET job_metrics.insert_fold_rows`);
  if (EMBEDDED_SERVER) {
    // A writer role granted the raw table alone (no rights on the pending table or the rollups):
    // the triggers run as their owner (migration 1764090000000), so its small statements append and
    // its bulk load folds itself, as anyone's.
    await audit.query(`CREATE ROLE bulk_appender NOLOGIN`);
    await audit.query(`GRANT SELECT, INSERT ON job_execution_summaries TO bulk_appender`);
    await audit.query(`SET ROLE bulk_appender`);
    try {
      await bulkInsert(10_001);
      await bulkInsert(5);
    } finally {
      await audit.query(`RESET ROLE`);
    }
    t.equal(await pendingCount(), 20_005, 'a role granted only the raw table writes: 5 rows appended, 10,001 folded by the statement');
  }
  await assertShapeAgrees('pending and folded at insert, mixed');
  await foldPending(db.pool);

  // Skipped duplicates are not counted; a bulk load racing small inserts, the fold and another bulk load.
  const otherFirst = nextJob;
  nextJob += 20_000;
  await Promise.all([
    bulkInsert(30_000, 97),
    db.pool.connect((c) => insertRows(c as never, Array.from({ length: 200 }, (_, i): TestRow => ({
      job_id: nextJob++, worker: WORKERS[i % 4]!, state: STATES[i % 5]!, results: { cancel_reason: i % 2 ? null : 'a' }, duration_ms: i, age_s: i * 7,
    })))),
    foldPending(db.pool, 50),
    (async () => {
      const other = new pg.Client({ connectionString: db.url });
      await other.connect();
      try {
        await other.query(`INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms, inserted_at)
          SELECT ${otherFirst} + i, 'b.Worker', 'completed', i % 5000, now() - make_interval(secs => i % 7200) FROM generate_series(0, 19999) AS i`);
      } finally {
        await other.end();
      }
    })(),
  ]);
  await assertShapeAgrees('bulk loads racing small inserts and the fold');
  // An upsert of 24,000 rows: 14,000 new (folded by the statement), 10,000 existing (updated).
  await audit.query(`
    INSERT INTO job_execution_summaries (job_id, attempt, worker, state, results, duration_ms, inserted_at)
    SELECT CASE WHEN i % 2 = 0 THEN ${otherFirst} + i ELSE ${nextJob} + i END, 1, 'a.Worker', 'cancelled',
      '{"cancel_reason": "upserted"}', i % 777, now() - make_interval(secs => i % 5400)
    FROM generate_series(0, 23999) AS i
    ON CONFLICT (job_id, attempt) DO UPDATE SET state = EXCLUDED.state, results = EXCLUDED.results, duration_ms = EXCLUDED.duration_ms`);
  nextJob += 24_000;
  t.equal(await pendingCount(), 0, 'the upsert left nothing pending');
  await assertShapeAgrees('a bulk upsert: new rows folded at insert, existing ones updated', true);
  await foldPending(db.pool);
  await assertShapeAgrees('after the race, folded', true);
  await assertEveryWindowAgrees('bulk loads, every worker and window');
});
