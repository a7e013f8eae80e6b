import t from 'tap';
import pg from 'pg';
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { createMetricsRepository } from '../src/metrics/metrics-repository.ts';
import { rebuildRollups } from '../src/metrics/rollup/backfill.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { auditRollups, verifyWindow } from '../src/metrics/rollup/verify.ts';
import { pruneRawRows } from '../src/retention/prune.ts';
import { STATES } from '../src/schemas/common.ts';
import type { SystemMetrics } from '../src/schemas/metrics.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { durationDifferences, insertRows, type Json, type TestRow } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const audit = new pg.Client({ connectionString: db.url });
await audit.connect();
t.teardown(() => audit.end());

const DAY = 86_400;
const RETENTION_DAYS = 30;
const WORKERS = ['a.Worker', 'Ünï "q" / w', 'unknown'];
/** Only rows older than the horizon: once pruned, it lives on in the rollups alone. */
const OLD_WORKER = 'Old.Worker';
const REASONS: (Json | undefined)[] = [undefined, {}, { cancel_reason: null }, { cancel_reason: 'a' }, { cancel_reason: 'unknown' }, { cancel_reason: '' }, { cancel_reason: 7 }];
const HOURS = [1, 3, 24, 25, 100, 719, 720, 721, 745, 1000, 2000, 4380, 8759, 8760];

/** A deterministic pseudo-random sequence (mulberry32), so a failure repeats. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let nextJob = 1;
/** A year of rows (and a little more), never within two minutes of now or of a window's edge. */
function yearOfRows(count: number, seed: number, maxAgeS = 366 * DAY, minAgeS = 0): TestRow[] {
  const next = random(seed);
  return Array.from({ length: count }, (): TestRow => {
    const hour = Math.floor(minAgeS / 3600 + next() * ((maxAgeS - minAgeS) / 3600));
    const state = STATES[Math.floor(next() * STATES.length)]!;
    return {
      job_id: nextJob++,
      worker: WORKERS[Math.floor(next() * WORKERS.length)]!,
      state,
      results: REASONS[Math.floor(next() * REASONS.length)],
      duration_ms: next() < 0.1 ? null : Math.floor(next() ** 3 * 600_000),
      age_s: hour * 3600 + 120 + Math.floor(next() * 3360),
    };
  });
}

const Counts = z.object({ n: z.number() });

/** Everything the metrics answer except what says how it was read (rows read, the oldest raw row left). */
function counted(answer: SystemMetrics): unknown {
  const strip = (m: SystemMetrics | NonNullable<SystemMetrics['compare']>['previous']) => {
    const { meta, ...rest } = m;
    const { rows, retention, ...how } = meta!;
    void rows;
    return { ...rest, meta: { ...how, retention: retention && { ...retention, earliest_raw_row: 'any' } } };
  };
  return answer.compare ? { ...strip(answer), compare: { ...answer.compare, previous: strip(answer.compare.previous) } } : strip(answer);
}

const OracleRow = z.object({
  executions: z.number(),
  completed: z.number(),
  retryable: z.number(),
  discarded: z.number(),
  cancelled: z.number(),
  snoozed: z.number(),
  unknown: z.number(),
  by_reason: z.array(z.object({ reason: z.string(), count: z.number() })),
  avg: z.number().nullable(),
  pct: z.array(z.number()).nullable(),
  max: z.number().nullable(),
});

/**
 * The answer recomputed over a copy of every row ever inserted (taken before pruning), with the
 * bounds the answer says it counted: before the horizon, whole hours from `counted_from`.
 */
async function oracleDifferences(db: CommonQueryMethods, answer: SystemMetrics | NonNullable<SystemMetrics['compare']>['previous'], worker?: string) {
  const retention = answer.meta?.retention;
  const from = retention ? sql.fragment`inserted_at >= ${retention.counted_from}::timestamptz` : sql.fragment`inserted_at > ${answer.window.from}::timestamptz`;
  const to = retention && retention.counted_to !== answer.window.to
    ? sql.fragment`inserted_at < ${retention.counted_to}::timestamptz`
    : sql.fragment`inserted_at <= ${answer.window.to}::timestamptz`;
  const o = await db.one(sql.type(OracleRow)`
    WITH w AS (
      SELECT state, CASE WHEN state = 'cancelled' THEN results ->> 'cancel_reason' END AS reason, duration_ms
      FROM retention_shadow WHERE ${from} AND ${to} ${worker === undefined ? sql.fragment`` : sql.fragment`AND worker = ${worker}`}
    )
    SELECT count(*)::int AS executions,
      count(*) FILTER (WHERE state = 'completed')::int AS completed, count(*) FILTER (WHERE state = 'retryable')::int AS retryable,
      count(*) FILTER (WHERE state = 'discarded')::int AS discarded, count(*) FILTER (WHERE state = 'cancelled')::int AS cancelled,
      count(*) FILTER (WHERE state = 'snoozed')::int AS snoozed,
      count(*) FILTER (WHERE state = 'cancelled' AND reason IS NULL)::int AS unknown,
      (SELECT coalesce(json_agg(json_build_object('reason', reason, 'count', n) ORDER BY n DESC, reason COLLATE "C"), '[]')
         FROM (SELECT reason, count(*)::int AS n FROM w WHERE state = 'cancelled' AND reason IS NOT NULL GROUP BY reason) g) AS by_reason,
      avg(duration_ms)::float8 AS avg, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS pct, max(duration_ms) AS max
    FROM w`);
  const found: string[] = [];
  const same = (name: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) found.push(`${name}: answer ${JSON.stringify(a)}, rows ${JSON.stringify(b)}`);
  };
  same('executions', answer.executions, o.executions);
  for (const state of STATES) same(state, answer.states[state], o[state]);
  same('unknown', answer.cancellations.unknown, o.unknown);
  same('by_reason', answer.cancellations.by_reason, o.by_reason);
  const expected = o.avg === null || o.pct === null || o.max === null
    ? null
    : { avg: o.avg, p50: o.pct[0]!, p95: o.pct[1]!, p99: o.pct[2]!, max: o.max };
  found.push(...durationDifferences(answer.duration_ms, expected, answer.meta?.percentile_error_bound ?? 0));
  return found;
}

await insertRows(db.pool, [
  ...yearOfRows(2500, 20261129),
  ...yearOfRows(40, 7, 200 * DAY, 40 * DAY).map((r) => ({ ...r, worker: OLD_WORKER })),
]);
await foldPending(db.pool);
// Rows inserted and not yet folded when they are pruned: their counts still reach the rollups.
await insertRows(db.pool, yearOfRows(300, 99, 300 * DAY, 60 * DAY));
await db.pool.query(sql.unsafe`CREATE TABLE retention_shadow AS SELECT * FROM job_execution_summaries`);

t.test('RETENTION_DAYS=30 on a year of rows: every window answers the same before and after pruning', async (t) => {
  const answersOf = async (tx: CommonQueryMethods) => {
    const metrics = createMetricsRepository(tx as DatabasePool, { retentionDays: RETENTION_DAYS, shareReads: false });
    const answers = new Map<string, SystemMetrics>();
    const series = new Map<string, unknown>();
    for (const hours of HOURS) {
      const bucket = hours <= 720 ? 'hour' : 'day';
      series.set(`system ${hours}`, await metrics.systemTimeseries(hours, bucket));
      for (const worker of [...WORKERS, OLD_WORKER]) series.set(`${worker} ${hours}`, await metrics.workerTimeseries(worker, hours, bucket));
      for (const compare of [undefined, 'previous'] as const) {
        answers.set(`system ${hours} ${compare}`, await metrics.systemMetrics(hours, { compare }));
        for (const worker of [...WORKERS, OLD_WORKER]) answers.set(`${worker} ${hours} ${compare}`, (await metrics.workerMetrics(worker, hours, { compare }))!);
      }
    }
    return { answers, series };
  };
  // One transaction, so one now(): the windows before and after are the same instants. Each
  // statement still sees what the pruner committed meanwhile. The pruner's horizon is the hour of
  // its own now() − 30 days: a run that crossed a full hour would see it move an hour (05:00 before,
  // 06:00 after, seen at 06:00 UTC), so a start in the last 30 s of an hour waits for the next.
  const toNextHourMs = 3_600_000 - (Date.now() % 3_600_000);
  if (toNextHourMs < 30_000) await new Promise((resolve) => setTimeout(resolve, toNextHourMs + 1_000));
  await db.pool.connect((connection) =>
    connection.transaction(async (tx) => {
      const { answers: before, series: seriesBefore } = await answersOf(tx);
      const pruned = await pruneRawRows(db.pool, RETENTION_DAYS, 700);
      t.ok(pruned.rows > 2000 && pruned.batches > 1, `pruned ${pruned.rows} rows in ${pruned.batches} batches`);
      const { answers: after, series: seriesAfter } = await answersOf(tx);
      for (const [key, answer] of before) t.same(counted(after.get(key)!), counted(answer), `${key}: the same answer`);
      for (const [key, points] of seriesBefore) t.same(seriesAfter.get(key), points, `${key} timeseries: the same points`);
      for (const [key, points] of seriesAfter) {
        const sum = (points as { points: { executions: number }[] }).points.reduce((a, p) => a + p.executions, 0);
        t.equal(sum, after.get(`${key} undefined`)!.executions, `${key} timeseries: the points add up to the window's executions`);
      }
      const year = after.get('system 8760 undefined')!;
      t.equal(year.meta?.method, 'rollup');
      t.ok(year.meta?.retention, 'a year reaches before the horizon: meta says so');
      t.equal(after.get('system 24 undefined')!.meta?.retention, undefined, 'a day does not');
      for (const [key, answer] of after) {
        const worker = key.startsWith('system') ? undefined : key.slice(0, key.lastIndexOf(' ', key.lastIndexOf(' ') - 1));
        t.same(await oracleDifferences(tx, answer, worker), [], `${key}: equals the rows ever inserted, counted from ${answer.meta?.retention?.counted_from ?? 'window.from'}`);
        if (answer.compare) t.same(await oracleDifferences(tx, answer.compare.previous, worker), [], `${key}: previous window too`);
      }
    }),
  );
  const horizon = await db.pool.oneFirst(sql.type(z.object({ h: z.string() }))`SELECT pruned_before AS h FROM job_retention`);
  const left = await db.pool.one(sql.type(z.object({ raw: z.number(), older: z.number(), expected: z.number() }))`
    SELECT (SELECT count(*)::int FROM job_execution_summaries) AS raw,
      (SELECT count(*)::int FROM job_execution_summaries WHERE inserted_at < ${horizon}::timestamptz) AS older,
      (SELECT count(*)::int FROM retention_shadow WHERE inserted_at >= ${horizon}::timestamptz) AS expected`);
  t.equal(left.older, 0, 'no raw row older than the horizon is left');
  t.equal(left.raw, left.expected, 'every raw row after the horizon is kept');
  t.ok(Date.parse(horizon) <= Date.now() - RETENTION_DAYS * DAY * 1000 && Date.parse(horizon) > Date.now() - (RETENTION_DAYS * DAY + 7200) * 1000, `horizon ${horizon}: 30 days back, in whole hours`);
  t.same(await verifyWindow(db.pool, 8760, undefined, RETENTION_DAYS), [], 'verify compares the hours inside the horizon: they agree');
  t.same(await auditRollups(audit, 20, RETENTION_DAYS), [], 'so does the audit of every bucket from the horizon on');
  t.same(await auditRollups(audit, 20), [], 'the recorded horizon is enough: a tool run without RETENTION_DAYS knows it too');
});

t.test('the API says what was pruned: metrics meta, drill-down, workers', async (t) => {
  const app = await startTestApp(t, db, { config: loadConfig({ RETENTION_DAYS: String(RETENTION_DAYS), RETENTION_PRUNE_INTERVAL_MS: '0' }) });
  const year = (await get(t, app, '/metrics/system?hours=8760')).json();
  t.equal(year.meta.method, 'rollup');
  t.match(year.meta.retention, { horizon: String, earliest_raw_row: String, counted_from: String, counted_to: year.window.to });
  t.ok(year.meta.retention.counted_from <= year.window.from && year.meta.retention.counted_from.endsWith(':00:00.000Z'), 'counted from the start of the window’s hour');
  t.notOk((await get(t, app, '/metrics/system?hours=24')).json().meta.retention, 'a window inside the horizon says nothing about it');

  const list = (await get(t, app, '/job-executions?hours=8760&limit=500')).json();
  t.match(list.pruned, { before: year.meta.retention.horizon, earliest_raw_row: String }, 'the drill-down says older rows were pruned');
  t.ok(list.executions.every((e: { inserted_at: string }) => e.inserted_at >= list.pruned.before), 'and lists only what still exists');
  t.notOk((await get(t, app, '/job-executions?hours=24')).json().pruned, 'a day does not reach the horizon');

  const workers = (await get(t, app, '/metrics/workers')).json().workers.map((w: { worker: string }) => w.worker);
  t.ok(workers.includes(OLD_WORKER), 'a worker whose rows were all pruned is still listed');
  const old = (await get(t, app, `/metrics/worker/${encodeURIComponent(OLD_WORKER)}?hours=8760`)).json();
  t.equal(old.executions, 40, 'and still has its year of executions');
  const idle = await get(t, app, `/metrics/worker/${encodeURIComponent(OLD_WORKER)}?hours=24`);
  t.equal(idle.statusCode, 200, 'idle in the last day: 200 with zeros, not an unknown worker');
});

t.test('an ordinary DELETE still removes rows from the metrics; a prune does not', async (t) => {
  const total = () => db.pool.oneFirst(sql.type(Counts)`
    SELECT coalesce(sum(completed + retryable + discarded + cancelled + snoozed), 0)::int AS n FROM job_rollups WHERE grain = 'month' AND worker IS NULL`);
  // Late rows, already older than the horizon: what a prune would find.
  const late = yearOfRows(4, 3, 50 * DAY, 40 * DAY);
  await insertRows(db.pool, late);
  await foldPending(db.pool);
  const ids = late.map((r) => r.job_id);
  const before = await total();
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ${ids[0]!}`);
  t.equal(await total(), before - 1, 'a correction takes its row out of the rollups');
  await db.pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`SELECT set_config('job_metrics.pruning', 'on', true)`);
    await tx.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ANY(${sql.array(ids.slice(1, 3), 'int8')})`);
  });
  t.equal(await total(), before - 1, 'a delete under job_metrics.pruning leaves them');
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ${ids[3]!}`);
  t.equal(await total(), before - 2, 'the setting ends with its transaction: the next DELETE is a correction again');
});

t.test('Prometheus counters do not drop when rows are pruned', async (t) => {
  const app = await startTestApp(t, db, { config: loadConfig({ RETENTION_DAYS: String(RETENTION_DAYS), RETENTION_PRUNE_INTERVAL_MS: '0' }) });
  const counters = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((line) => /^job_(executions_total|cancellations|execution_duration)/.test(line)).join('\n');
  await insertRows(db.pool, yearOfRows(200, 11, 90 * DAY, 35 * DAY));
  const before = await counters();
  t.match(before, /job_executions_total\{/);
  const { rows } = await pruneRawRows(db.pool, RETENTION_DAYS);
  t.equal(rows, 200, 'the late rows were pruned (some still pending a fold)');
  t.equal(await counters(), before, 'every execution counter and histogram series is unchanged');
  await foldPending(db.pool);
  t.equal(await counters(), before, 'and stays so once their pending rows are folded');
});

t.test('a rebuild from the raw rows refuses once rows were pruned', async (t) => {
  await t.rejects(rebuildRollups(audit), /pruned and live on only in the rollups/);
});

t.test('pruning under concurrent inserts, updates and deletes changes nothing inside the horizon', async (t) => {
  await insertRows(db.pool, yearOfRows(3000, 5, 200 * DAY, 32 * DAY)); // to prune
  await foldPending(db.pool);
  const Totals = z.object({ state: z.string(), n: z.number() });
  const monthTotals = async () => {
    await foldPending(db.pool);
    return db.pool.any(sql.type(Totals)`
      SELECT s.state, coalesce(sum(CASE s.state WHEN 'completed' THEN completed WHEN 'retryable' THEN retryable WHEN 'discarded' THEN discarded
        WHEN 'cancelled' THEN cancelled ELSE snoozed END), 0)::int AS n
      FROM unnest(${sql.array([...STATES], 'text')}) AS s (state) LEFT JOIN job_rollups r ON r.grain = 'month' AND r.worker IS NULL
      GROUP BY s.state ORDER BY s.state`);
  };
  const before = await monthTotals();
  const cut = await db.pool.oneFirst(sql.type(z.object({ cut: z.string() }))`SELECT now() - interval '29 days' AS cut`);
  const rawInside = () => db.pool.any(sql.type(Totals)`
    SELECT state, count(*)::int AS n FROM job_execution_summaries WHERE inserted_at >= ${cut}::timestamptz GROUP BY state ORDER BY state`);
  const insideBefore = await rawInside();

  // Writers touch only rows inside the horizon (29 days back at most); the pruner only rows before it.
  let stop = false;
  const writes = { inserted: 0, updated: 0, deleted: 0 };
  const writer = async (lane: number) => {
    for (let i = 0; !stop || i < 3; i++) {
      const step = (lane * 1000 + i) % 3;
      if (step === 0) {
        const rows = yearOfRows(20, lane * 7919 + i, 28 * DAY, 0);
        await insertRows(db.pool, rows);
        writes.inserted += rows.length;
      } else if (step === 1) {
        const n = await db.pool.oneFirst(sql.type(Counts)`
          WITH u AS (UPDATE job_execution_summaries SET state = 'retryable', duration_ms = coalesce(duration_ms, 0) + 1
            WHERE inserted_at >= ${cut}::timestamptz AND id % 17 = ${(lane + i) % 17} RETURNING 1) SELECT count(*)::int AS n FROM u`);
        writes.updated += n;
      } else {
        const n = await db.pool.oneFirst(sql.type(Counts)`
          WITH d AS (DELETE FROM job_execution_summaries
            WHERE inserted_at >= ${cut}::timestamptz AND id % 23 = ${(lane + i) % 23} RETURNING 1) SELECT count(*)::int AS n FROM d`);
        writes.deleted += n;
      }
    }
  };
  const writers = [writer(1), writer(2)];
  const pruned = await pruneRawRows(db.pool, RETENTION_DAYS, 250);
  stop = true;
  await Promise.all(writers);
  t.ok(pruned.rows >= 3000, `pruned ${pruned.rows} rows in ${pruned.batches} batches while writers ran (${JSON.stringify(writes)})`);
  t.ok(writes.inserted > 0 && writes.updated > 0 && writes.deleted > 0, 'the writers inserted, updated and deleted meanwhile');

  t.same(await verifyWindow(db.pool, 8760, undefined, RETENTION_DAYS), [], 'every window inside the horizon equals the raw rows');
  for (const worker of WORKERS) t.same(await verifyWindow(db.pool, 720, worker, RETENTION_DAYS), [], `${worker}: too`);
  t.same(await auditRollups(audit, 20, RETENTION_DAYS), [], 'every bucket from the horizon on equals a rebuild from the raw rows');
  // All-time totals moved by exactly what the writers did inside the horizon; the pruned rows still count.
  const after = await monthTotals();
  const insideAfter = await rawInside();
  const delta = (list: readonly z.infer<typeof Totals>[], state: string) => list.find((r) => r.state === state)?.n ?? 0;
  for (const state of STATES) {
    t.equal(
      delta(after, state) - delta(before, state),
      delta(insideAfter, state) - delta(insideBefore, state),
      `${state}: all-time total changed only by the writes inside the horizon`,
    );
  }
  t.equal(
    await db.pool.oneFirst(sql.type(Counts)`
      SELECT count(*)::int AS n FROM job_execution_summaries WHERE inserted_at < (SELECT pruned_before FROM job_retention)`),
    0,
    'no raw row is older than the horizon',
  );
});
