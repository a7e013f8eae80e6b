import t, { type Test } from 'tap';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { STATES, type JobState } from '../src/schemas/common.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { HistogramCache } from '../src/metrics/rollup/histogram-cache.ts';
import { readRollupRow, rollupWindow } from '../src/metrics/rollup/rollup-metrics.ts';
import { FLIP_MIN_ROWS } from '../src/metrics/rollup/window-pieces.ts';
import { TEN_SECONDS_READ_HOURS } from '../src/metrics/rollup/rollup-upserts.ts';
import { timeseriesQuery } from '../src/metrics/timeseries-query.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { durationDifferences, insertRows, oracle, reasonOf, type Json, type TestRow } from './helpers/rows.ts';

// A window whose first (last) minute or hour is dense is answered as that bucket's rollup row minus
// the raw rows before (after) the window when that side is the shorter (window-pieces.ts, `flip`,
// `end_flip`). These tests place the window's start or end anywhere in a dense bucket, to the
// microsecond, and compare with an oracle over every row they wrote.

const db = await startTestDatabase(t);
/** One for every read, as the service keeps one: versions held from earlier reads are used. */
const histograms = new HistogramCache();
/** The dense minute of the first test (ms). */
let denseMinute = 0;
const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Row extends TestRow {
  at: number; // ms since the epoch, whole ms: never within 0.25 ms of a window's start
}

const RESULTS: (Json | undefined)[] = [
  { cancel_reason: 'movie not matched' }, {}, { cancel_reason: null }, undefined, { cancel_reason: 'unknown' },
  { cancel_reason: '' }, { cancel_reason: 42 }, { cancel_reason: 'Ünïcødé “quoted” \'x\'' }, { cancel_reason: 'x'.repeat(300) },
];
const WORKERS = [SHOWTIME, MAILER, UNICODE_WORKER];
let jobId = 0;
function row(at: number, i: number, duration?: number | null): Row {
  const state: JobState = STATES[i % 7 < 4 ? 3 : i % 5]!; // mostly cancelled, every state
  return {
    job_id: ++jobId,
    worker: WORKERS[i % 3]!,
    state,
    results: state === 'cancelled' ? RESULTS[i % RESULTS.length] : { ok: true },
    duration_ms: duration !== undefined ? duration : i % 13 === 0 ? null : 100 + ((i * 7919) % 50_000),
    age_s: 0,
    at,
  };
}

/** Every row the tests wrote: each oracle reads them all. */
const written: Row[] = [];
async function insertAt(pool: DatabasePool, rows: readonly Row[]): Promise<void> {
  written.push(...rows);
  await insertRows(pool, rows);
}

const nowMicros = z.object({ now: z.string() });
/**
 * Runs the metrics query with its window starting at `fromMs` + 0.25 ms (or ending there, `at:
 * 'to'`; `toMs` null: at now()), and the oracle.
 */
async function windowFrom(fromMs: number | null, hours: number, worker?: string, at: 'from' | 'to' = 'from') {
  return db.pool.transaction(async (tx) => {
    // now() is the transaction's: read it exactly (µs), then ask for the offset that lands t_from.
    const { now } = await tx.one(sql.type(nowMicros)`SELECT (extract(epoch FROM now()) * 1000000)::bigint::text AS now`);
    const anchor = fromMs === null ? Number(now) : fromMs * 1000 + 250;
    const fromMicros = at === 'from' && fromMs !== null ? anchor : anchor - hours * 3.6e9;
    const offsetHours = fromMs === null ? 0 : (Number(now) - fromMicros) / 3.6e9 - hours;
    const raw = await readRollupRow(tx, histograms, { hours, offsetHours, worker });
    const toMicros = fromMicros + hours * 3.6e9;
    const inWindow = written.filter((r) => r.at * 1000 > fromMicros && r.at * 1000 <= toMicros && (worker === undefined || r.worker === worker));
    return { answer: rollupWindow(raw), expected: oracle(inWindow, 1, worker), rawRows: raw.raw_rows };
  });
}

function check(t: Test, label: string, { answer, expected }: Awaited<ReturnType<typeof windowFrom>>) {
  const { row, meta } = answer;
  t.same(
    { executions: row.executions, states: STATES.map((s) => row[s]), unknown: row.unknown_reasons, by_reason: row.by_reason },
    { executions: expected.executions, states: STATES.map((s) => expected.states[s]), unknown: expected.cancellations.unknown, by_reason: expected.cancellations.by_reason },
    `${label}: counts`,
  );
  const [p50, p95, p99] = row.duration_pct ?? [];
  const found = row.durations === 0 ? null : { avg: row.duration_avg!, p50: p50!, p95: p95!, p99: p99!, max: row.duration_max! };
  t.same(durationDifferences(found, expected.duration_ms, meta.percentile_error_bound), [], `${label}: durations`);
}

t.test('a window starting anywhere in a dense minute equals the oracle', async (t) => {
  // B: a minute 30 hours ago, before the ten-second rollups' reach (TEN_SECONDS_READ_HOURS). 20 rows
  // a second from B − 1 min to B + 2 min (1,200 a minute), a few over the rest of the hour; the
  // longest duration at B + 5 s, a tie of the next longest at B + 7 s and B + 40 s, and some rows
  // left pending (not folded) in each part.
  t.ok(30 > TEN_SECONDS_READ_HOURS, 'the minute lies before the ten-second rollups');
  const B = Math.floor((Date.now() - 30 * HOUR) / MINUTE) * MINUTE;
  denseMinute = B;
  const rows: Row[] = [];
  for (let ms = -MINUTE; ms < 2 * MINUTE; ms += 50) rows.push(row(B + ms + 3, rows.length));
  for (let ms = 2 * MINUTE; ms < 62 * MINUTE; ms += 7_001) rows.push(row(B + ms, rows.length));
  rows.push(row(B + 5_000 + 1, rows.length, 9_000_000), row(B + 7_000 + 1, rows.length + 1, 8_000_000), row(B + 40_000 + 1, rows.length + 2, 8_000_000));
  const pending: Row[] = [];
  for (let ms = -MINUTE; ms < 2 * MINUTE; ms += 997) pending.push(row(B + ms + 11, rows.length + pending.length));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  await insertAt(db.pool, pending);
  const all = written;
  t.ok(all.filter((r) => r.at >= B && r.at < B + MINUTE).length >= FLIP_MIN_ROWS, 'the minute is dense enough to flip');

  const kept = (k: number) => all.filter((r) => r.at > B + k && r.at < B + MINUTE).length;
  const removed = (k: number) => all.filter((r) => r.at >= B && r.at <= B + k).length;
  // k: where t_from falls in [B, B + 1 min), ms. The max row at +5 s kept, then taken away with
  // the tie at +7 s kept or taken away too; the second half is read as it is.
  for (const k of [0, 1_000, 4_000, 6_000, 8_000, 29_000, 31_000, 45_000, 59_999]) {
    for (const worker of [undefined, SHOWTIME, UNICODE_WORKER]) {
      const result = await windowFrom(B + k, 1, worker);
      check(t, `t_from = B + ${k} ms, ${worker ?? 'system'}`, result);
    }
    const { rawRows } = await windowFrom(B + k, 1);
    const flipped = k < 30_000;
    // Rows read raw: the side of the first minute that is read, then the pending rows of the other
    // pieces (one a second) and the end's partial minute (a row every 7 s).
    const firstRead = flipped ? removed(k) : kept(k);
    t.ok(rawRows >= firstRead && rawRows <= firstRead + 200, `B + ${k} ms: ${rawRows} rows read, ${flipped ? 'flipped' : 'as it is'} (${firstRead} on that side)`);
  }
});

t.test('a window starting anywhere in a dense minute of the last day reads ten seconds of raw rows at most', async (t) => {
  // D: a minute four hours ago. 140 rows a second from D − 20 s to D + 80 s (1,400 in ten seconds,
  // dense enough to flip), folded; the longest duration at D + 12 s, a tie of the next longest at
  // D + 14 s and D + 50 s; a row a second left pending.
  const D = Math.floor((Date.now() - 4 * HOUR) / MINUTE) * MINUTE;
  const rows: Row[] = [];
  for (let ms = -20_000; ms < 80_000; ms += 7) rows.push(row(D + ms + 3, written.length + rows.length));
  rows.push(row(D + 12_000 + 1, written.length + rows.length, 9_000_000), row(D + 14_000 + 1, written.length + rows.length + 1, 8_000_000));
  rows.push(row(D + 50_000 + 1, written.length + rows.length + 2, 8_000_000));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  await insertAt(db.pool, Array.from({ length: 100 }, (_, i) => row(D - 20_000 + i * 1_000 + 11, written.length + i)));
  const tens = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM job_rollups WHERE grain = 'ten_seconds' AND worker IS NULL
      AND bucket >= ${new Date(D).toISOString()}::timestamptz AND bucket < ${new Date(D + MINUTE).toISOString()}::timestamptz`);
  t.equal(tens, 6, 'the fold wrote the minute as six ten-second rows');

  const inRange = (from: number, to: number, left: boolean) =>
    written.filter((r) => (left ? r.at >= from && r.at <= to : r.at > from && r.at < to)).length;
  for (const k of [0, 1_000, 4_999, 5_001, 11_000, 13_000, 15_000, 29_999, 45_000, 51_000, 59_999]) {
    for (const worker of [undefined, SHOWTIME, UNICODE_WORKER]) {
      check(t, `t_from = D + ${k} ms, ${worker ?? 'system'}`, await windowFrom(D + k, 1, worker));
    }
    const { rawRows } = await windowFrom(D + k, 1);
    const s0 = D + Math.floor(k / 10_000) * 10_000;
    const flipped = k - (s0 - D) < 5_000;
    // Rows read raw: the side of the ten seconds that is read, then the pending rows of the other
    // pieces (one a second) and the end's partial minute.
    const firstRead = flipped ? inRange(s0, D + k, true) : inRange(D + k, s0 + 10_000, false);
    t.ok(rawRows >= firstRead && rawRows <= firstRead + 150, `D + ${k} ms: ${rawRows} rows read, ${flipped ? 'flipped' : 'as it is'} (${firstRead} on that side)`);
  }

  // An UPDATE in the minute drops its ten-second rows: it is read a minute's way again, still exact.
  const moved = written.filter((r) => r.at > D + 20_000 && r.at < D + 21_000 && r.state !== 'completed').slice(0, 5);
  for (const r of moved) r.state = 'completed';
  await db.pool.query(sql.unsafe`UPDATE job_execution_summaries SET state = 'completed' WHERE job_id = ANY(${sql.array(moved.map((r) => r.job_id), 'int8')})`);
  const kept = (k: number) => written.filter((r) => r.at > D + k && r.at < D + MINUTE).length;
  for (const k of [13_000, 45_000]) {
    for (const worker of [undefined, SHOWTIME]) check(t, `after the UPDATE, t_from = D + ${k} ms, ${worker ?? 'system'}`, await windowFrom(D + k, 1, worker));
  }
  const { rawRows } = await windowFrom(D + 45_000, 1);
  t.ok(rawRows >= kept(45_000), `after the UPDATE the minute is read as before: ${rawRows} rows read (${kept(45_000)} after t_from)`);
  // A DELETE elsewhere in the last day drops that minute's too; new rows folded later do not make
  // the minute whole again.
  const E = D + 5 * MINUTE;
  await insertAt(db.pool, Array.from({ length: 1_200 }, (_, i) => row(E + i * 40 + 3, written.length + i)));
  await foldPending(db.pool);
  check(t, 'a second dense minute', await windowFrom(E + 30_000, 1));
  const afterStart = () => written.filter((r) => r.at > E + 30_000 && r.at < E + MINUTE).length;
  const tenSide = written.filter((r) => r.at > E + 30_000 && r.at < E + 40_000).length;
  const before = (await windowFrom(E + 30_000, 1)).rawRows;
  t.ok(before < afterStart() && before <= tenSide + 150, `read by its ten-second rows: ${before} rows (${tenSide} up to the next ten seconds)`);
  const gone = written.filter((r) => r.at > E && r.at < E + 1_000).map((r) => r.job_id);
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ANY(${sql.array(gone, 'int8')})`);
  written.splice(0, written.length, ...written.filter((r) => !gone.includes(r.job_id)));
  await insertAt(db.pool, Array.from({ length: 30 }, (_, i) => row(E + 20_000 + i * 100 + 7, written.length + i)));
  await foldPending(db.pool);
  for (const k of [2_000, 30_000, 55_000]) check(t, `after the DELETE, t_from = E + ${k} ms`, await windowFrom(E + k, 1));
  const after = (await windowFrom(E + 30_000, 1)).rawRows;
  t.ok(after >= afterStart(), `after the DELETE the minute is read as before: ${after} rows (${afterStart()} to its end)`);
  await foldPending(db.pool);
});

t.test('a pending row in a flipped bucket counts for the max only inside the window', async (t) => {
  // A dense minute C five hours ago (folded; dense for each worker too), then two rows of two
  // workers left pending with the longest durations of all: one at C + 2 s, one at C + 50 s. A
  // window starting at C + 10 s (flipped: the start's rows are taken away) must not have the first
  // as its max, one starting at C + 1 s must; a window ending at C + 40 s (flipped at the end) must
  // not have the second.
  const C = Math.floor((Date.now() - 5 * HOUR) / MINUTE) * MINUTE;
  const rows: Row[] = [];
  for (let ms = -MINUTE; ms < 2 * MINUTE; ms += 15) rows.push(row(C + ms + 3, written.length + rows.length));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  const early = row(C + 2_001, written.length, 9_900_000);
  const late = row(C + 50_001, written.length + 1, 9_800_000);
  t.not(early.worker, late.worker, `two workers: each one's windows see one of the two rows`);
  await insertAt(db.pool, [early, late]);
  for (const worker of [undefined, early.worker, late.worker]) {
    for (const k of [1_000, 10_000]) check(t, `t_from = C + ${k} ms, ${worker ?? 'system'}`, await windowFrom(C + k, 1, worker));
    for (const k of [40_000, 55_000]) check(t, `t_to = C + ${k} ms, ${worker ?? 'system'}`, await windowFrom(C + k, 1, worker, 'to'));
  }
  const start = (await windowFrom(C + 10_000, 1, early.worker)).answer.row;
  t.ok(start.duration_max! < 9_800_000, `the flipped start's pending max lies before the window (${start.duration_max})`);
  const end = (await windowFrom(C + 40_000, 1, late.worker, 'to')).answer.row;
  t.ok(end.duration_max! < 9_800_000, `the flipped end's pending max lies after the window (${end.duration_max})`);
  await foldPending(db.pool);
});

t.test('a window starting in a dense hour a month and more ago equals the oracle', async (t) => {
  const B = Math.floor((Date.now() - 800 * HOUR) / HOUR) * HOUR;
  const rows: Row[] = [];
  for (let ms = -HOUR; ms < 2 * HOUR; ms += 3_001) rows.push(row(B + ms, rows.length));
  rows.push(row(B + 60_000, rows.length, 9_000_000));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  for (const k of [0, 30_000, 90_000, 20 * MINUTE, 40 * MINUTE]) {
    check(t, `t_from = B + ${k} ms (hours)`, await windowFrom(B + k, 1));
    check(t, `t_from = B + ${k} ms (hours), 2 h`, await windowFrom(B + k, 2, MAILER));
  }
});

t.test('a window ending anywhere in a dense minute equals the oracle', async (t) => {
  // The dense minutes of the first test, B and B + 1 min; a longest duration at B + 110 s, so that
  // a window ending before it has its last bucket's max row taken away.
  const B = denseMinute;
  await insertAt(db.pool, [row(B + 110_001, written.length, 9_500_000)]);
  await foldPending(db.pool);
  const after = (end: number, k: number) => written.filter((r) => r.at > end + k && r.at < end + MINUTE).length;
  const before = (end: number, k: number) => written.filter((r) => r.at >= end && r.at <= end + k).length;
  for (const [minute, k] of [[B, 0], [B, 15_000], [B, 29_000], [B, 31_000], [B, 45_000], [B, 59_999], [B + MINUTE, 40_000], [B + MINUTE, 55_000]] as const) {
    for (const worker of [undefined, SHOWTIME]) {
      check(t, `t_to = ${minute === B ? 'B' : 'B + 1 min'} + ${k} ms, ${worker ?? 'system'}`, await windowFrom(minute + k, 1, worker, 'to'));
    }
    const { rawRows } = await windowFrom(minute + k, 1, undefined, 'to');
    const flipped = k > 30_000;
    const lastRead = flipped ? after(minute, k) : before(minute, k);
    t.ok(rawRows >= lastRead && rawRows <= lastRead + 200, `end at + ${k} ms: ${rawRows} rows read, ${flipped ? 'flipped' : 'as it is'} (${lastRead} on that side)`);
  }
});

t.test('a window ending now() while rows stamped in the future sit in its dense minute equals the oracle', async (t) => {
  const now = Date.now();
  const rows: Row[] = [];
  for (let ms = -50_000; ms < 70_000; ms += 40) rows.push(row(now + ms, written.length + rows.length));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  for (const hours of [1, 24]) {
    for (const worker of [undefined, SHOWTIME]) check(t, `${hours} h ending now(), ${worker ?? 'system'}`, await windowFrom(null, hours, worker));
  }
  const { rawRows, answer } = await windowFrom(null, 1);
  const end = Date.parse(answer.row.window_to);
  const minute = Math.floor(end / MINUTE) * MINUTE;
  const future = written.filter((r) => r.at > end && r.at < minute + MINUTE).length;
  const past = written.filter((r) => r.at >= minute && r.at <= end).length;
  const read = end - minute > MINUTE / 2 ? future : past;
  t.ok(rawRows >= read && rawRows <= read + 50, `${rawRows} rows read: the smaller side of the minute (${past} up to now(), ${future} after it)`);
});

t.test('a time series whose window starts in a dense minute equals the oracle', async (t) => {
  // The series ends at now(): rows dense around now() − 3 h, read at a moment in each half of the minute.
  const B = Date.now() - 3 * HOUR;
  const rows: Row[] = [];
  for (let ms = -2 * MINUTE; ms < 2 * MINUTE; ms += 40) rows.push(row(B + ms, rows.length));
  await insertAt(db.pool, rows);
  await foldPending(db.pool);
  const halves = new Set<boolean>();
  while (halves.size < 2) {
    const result = await db.pool.transaction(async (tx) => {
      const answer = await tx.any(timeseriesQuery(3, 'hour'));
      const from = Date.parse(answer[0]!.window_from);
      const to = Date.parse(answer[0]!.window_to);
      return { answer, from, to };
    });
    const { answer, from, to } = result;
    halves.add(from % MINUTE < MINUTE / 2);
    // Whole ms from the service: rows are never within 1 ms of it here (checked), so the comparison is exact.
    const near = written.filter((r) => Math.abs(r.at - from) <= 1);
    if (near.length > 0) continue;
    for (const bucket of answer) {
      const start = Date.parse(bucket.start);
      const inBucket = written.filter((r) => r.at > from && r.at <= to && r.at >= start && r.at < start + HOUR);
      t.same(
        { executions: bucket.executions, states: STATES.map((s) => bucket[s]), unknown: bucket.unknown_reasons },
        {
          executions: inBucket.length,
          states: STATES.map((s) => inBucket.filter((r) => r.state === s).length),
          unknown: inBucket.filter((r) => r.state === 'cancelled' && reasonOf(r.results) === null).length,
        },
        `bucket ${bucket.start}, window from ${new Date(from).toISOString()}`,
      );
    }
    if (halves.size < 2) await new Promise((resolve) => setTimeout(resolve, MINUTE / 2 - (Date.now() % (MINUTE / 2)) + 2_000));
  }
});

t.test('random dense edges after deletes and updates equal the oracle', async (t) => {
  // A seeded generator: the same rows and windows on every run, many shapes of ties and maxima.
  let seed = 1_764_000_015;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const DURATIONS = [null, 1, 100, 100, 2_500, 40_000, 40_000, 60_000];
  for (let round = 0; round < 8; round++) {
    await db.pool.query(sql.unsafe`TRUNCATE job_execution_summaries`);
    written.length = 0;
    const B = Math.floor((Date.now() - 2 * HOUR) / MINUTE) * MINUTE;
    const rows = Array.from({ length: 2_100 + Math.floor(random() * 1_400) }, (_, i) =>
      row(B - 30_000 + Math.floor(random() * 120_000), i, pick(DURATIONS)),
    );
    // The longest durations, one or two (a tie) in the minute B: taken away or kept by the window's edge.
    rows.push(row(B + Math.floor(random() * MINUTE), rows.length, 9_000_000));
    if (random() < 0.5) rows.push(row(B + Math.floor(random() * MINUTE), rows.length, 9_000_000));
    const folded = Math.floor(rows.length * (0.7 + 0.3 * random())); // a flip needs 1,000 folded rows
    await insertAt(db.pool, rows.slice(0, folded));
    await foldPending(db.pool);
    await insertAt(db.pool, rows.slice(folded));
    // DELETE and UPDATE fold first, then change the rollups, recomputing the max of what lost a row;
    // they drop the minute's ten-second rows. Odd rounds leave them, so windows starting in B read
    // its ten-second rows when 1,000 or more are folded there.
    if (round % 2 === 0) {
      const gone = new Set(written.filter(() => random() < 0.05).map((r) => r.job_id));
      for (const r of written.filter((r) => r.duration_ms === 9_000_000)) if (random() < 0.5) gone.add(r.job_id);
      await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ANY(${sql.array([...gone], 'int8')})`);
      written.splice(0, written.length, ...written.filter((r) => !gone.has(r.job_id)));
      const changed = written.filter(() => random() < 0.03);
      for (const r of changed) r.duration_ms = pick(DURATIONS);
      for (const r of changed) {
        await db.pool.query(sql.unsafe`UPDATE job_execution_summaries SET duration_ms = ${r.duration_ms ?? null} WHERE job_id = ${r.job_id}`);
      }
    }
    await insertAt(db.pool, Array.from({ length: 40 }, (_, i) => row(B + Math.floor(random() * MINUTE), i, pick(DURATIONS))));
    for (let w = 0; w < 6; w++) {
      const k = Math.floor(random() * MINUTE);
      const at = pick(['from', 'to'] as const);
      check(t, `round ${round}: window ${at === 'from' ? 'starting' : 'ending'} at B + ${k} ms`, await windowFrom(B + k, 1, undefined, at));
    }
  }
});
