import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { HistogramCache } from '../src/metrics/rollup/histogram-cache.ts';
import { readRollupRow, rollupWindow } from '../src/metrics/rollup/rollup-metrics.ts';
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { MINUTE_READ_HOURS } from '../src/metrics/rollup/rollup-upserts.ts';
import { STATES } from '../src/schemas/common.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, SHOWTIME } from './helpers/nasty-rows.ts';
import { durationDifferences, insertRows, oracle, type TestRow } from './helpers/rows.ts';

// The service keeps the rollup rows' histograms between reads (histogram-cache.ts), named by row
// version. A late row, a deleted row or an updated duration writes new versions: the next read must
// use them, never what it held, so every answer matches an oracle over the rows written.

const db = await startTestDatabase(t);
const DAY_S = 86_400;
const HOURS = 60 * 24;
const rows: TestRow[] = [];
let jobId = 0;

/** `count` rows at ages `from_s`… spread over `span_s`, durations around `base` ms. */
function spread(count: number, fromS: number, spanS: number, base: number): TestRow[] {
  return Array.from({ length: count }, (_, i) => ({
    job_id: ++jobId,
    worker: i % 3 === 0 ? MAILER : SHOWTIME,
    state: STATES[i % STATES.length]!,
    results: i % 4 === 0 ? { cancel_reason: i % 8 === 0 ? null : 'venue closed' } : undefined,
    duration_ms: i % 17 === 0 ? null : base + ((i * 7919) % base),
    age_s: fromS + ((i * 104_729) % spanS),
  }));
}

async function write(more: TestRow[]) {
  rows.push(...more);
  await insertRows(db.pool, more);
  await foldPending(db.pool);
}

const histograms = new HistogramCache();

/** The service's read with the shared cache, against the oracle over every row still there. */
async function check(t: Test, label: string, worker?: string, cache = histograms, hours = HOURS) {
  const { row, meta } = rollupWindow(await readRollupRow(db.pool, cache, { hours, worker }));
  const expected = oracle(rows, hours, worker);
  t.equal(meta.method, 'rollup', `${label}: read from the rollups`);
  t.equal(row.executions, expected.executions, `${label}: executions`);
  t.equal(row.cancelled, expected.cancellations.total, `${label}: cancellations`);
  const [p50, p95, p99] = row.duration_pct ?? [];
  const found = row.duration_pct === null ? null : { avg: row.duration_avg ?? 0, p50: p50!, p95: p95!, p99: p99!, max: row.duration_max ?? 0 };
  t.same(durationDifferences(found, expected.duration_ms, meta.percentile_error_bound), [], `${label}: durations`);
}

/** The pieces whose histogram the query sends when told the service holds `held`. */
async function sent(held: readonly string[]) {
  const row = await db.pool.one(rollupMetricsQuery(HOURS, 0, undefined, undefined, { held }));
  return { keys: row.pieces.map(([key]) => key), sent: row.pieces.filter(([, hist]) => hist !== null).map(([key]) => key) };
}

await write(spread(6_000, 2 * 3600, 50 * DAY_S, 200));

await t.test('a version the caller holds is not sent again; a changed one is', async (t) => {
  const first = await sent([]);
  t.ok(first.keys.length > 10, `the window reads ${first.keys.length} rollup rows`);
  t.same(first.sent, first.keys, 'with nothing held, every histogram is sent');
  t.same((await sent(first.keys)).sent, [], 'with everything held, none is');
  // One late row 20 days back rewrites the rollup rows holding it, and only those.
  await write(spread(1, 20 * DAY_S, 1, 200));
  const after = await sent(first.keys);
  t.ok(after.sent.length >= 1 && after.sent.length <= 3, `only the rows holding the late row are sent (${after.sent.length})`);
  t.same(after.sent.filter((key) => first.keys.includes(key)), [], 'each sent one is a new version');
});

await t.test('answers follow every change to rows the cache has read', async (t) => {
  for (const worker of [undefined, SHOWTIME]) await check(t, `before, ${worker ?? 'system'}`, worker);
  // Late rows with ten times the durations, into days the cache holds: p50 and p95 move.
  await write(spread(4_000, 10 * DAY_S, 20 * DAY_S, 2_000));
  for (const worker of [undefined, SHOWTIME]) await check(t, `late rows, ${worker ?? 'system'}`, worker);
  // A row deleted and a duration changed, both in held days.
  const [gone, changed] = await db.pool.many(sql.type(z.object({ job_id: z.number() }))`
    SELECT job_id FROM job_execution_summaries WHERE inserted_at < now() - interval '5 days' AND duration_ms IS NOT NULL ORDER BY duration_ms DESC LIMIT 2`);
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = ${gone!.job_id}`);
  await db.pool.query(sql.unsafe`UPDATE job_execution_summaries SET duration_ms = 1 WHERE job_id = ${changed!.job_id}`);
  rows.splice(rows.findIndex((r) => r.job_id === gone!.job_id), 1);
  rows.find((r) => r.job_id === changed!.job_id)!.duration_ms = 1;
  await foldPending(db.pool);
  for (const worker of [undefined, SHOWTIME]) await check(t, `delete and update, ${worker ?? 'system'}`, worker);
});

await t.test('a version written where an old one was vacuumed away is a new version', async (t) => {
  // VACUUM frees the slots of replaced versions for the next versions to reuse: whatever lands
  // where, each round's answer must follow its rows. Durations swing each round so a stale one shows.
  for (let round = 0; round < 4; round++) {
    await check(t, `round ${round}`);
    await db.pool.query(sql.unsafe`VACUUM job_rollups`);
    await write(spread(500, 15 * DAY_S, 10 * DAY_S, round % 2 === 0 ? 50_000 : 20));
  }
  await check(t, 'last round');
});

await t.test('a cache too small for a window evicts, and answers stay right', async (t) => {
  const tiny = new HistogramCache(256);
  for (let i = 0; i < 3; i++) await check(t, `read ${i}`, undefined, tiny);
  t.ok(tiny.bytes <= 256, `it holds ${tiny.bytes} bytes`);
  t.ok(tiny.used.sent > tiny.used.held, 'most histograms are sent again');
});

/** A cache that remembers what it offered the last read: the versions held for that window. */
class OfferingCache extends HistogramCache {
  last = { scope: '', hours: 0, offered: [] as string[] };
  override held(scope: string, hours: number) {
    const held = super.held(scope, hours);
    this.last = { scope, hours, offered: [...held.keys()] };
    return held;
  }
}

await t.test('a window not read before is told the versions its neighbours read', async (t) => {
  const cache = new OfferingCache(32 * 2 ** 20, 3);
  /** One read: the versions offered, the versions it used, and how many of them were sent. */
  const read = async (label: string, hours: number, worker?: string) => {
    const before = cache.used.sent;
    await check(t, label, worker, cache, hours);
    const { scope, offered } = cache.last;
    // What a window's own last read used is what the cache offers it next.
    const used = [...HistogramCache.prototype.held.call(cache, scope, hours).keys()];
    const sent = cache.used.sent - before;
    t.equal(sent, used.filter((key) => !offered.includes(key)).length, `${label}: sent exactly the versions it was not offered`);
    return { offered, used, sent };
  };
  // Neighbours share their rollup rows only away from the day's and the month's edges: windows
  // starting near noon UTC whatever the time now, an hour apart. (30- and 29-day windows ending just
  // after midnight shared nearly nothing: one starts a day's 23 hour rows, the other the next
  // day's; on the 1st, one holds a month row, the other its days.) And past MINUTE_READ_HOURS, so
  // they start on hour rows: a 20-day window starts on the minute rows of its first hour, up to 59
  // of them, all new to a neighbour an hour longer, and early in any hour it was sent half.
  const hours = MINUTE_READ_HOURS + 24 + ((new Date().getUTCHours() + 12) % 24);
  const first = await read(`${hours} h`, hours);
  t.same(first.offered, [], 'the first window is offered nothing');
  t.ok(first.used.length > 5 && first.sent === first.used.length, `and is sent every histogram (${first.sent})`);
  const near = await read(`${hours - 1} h`, hours - 1);
  t.same(near.offered, first.used, 'a shorter window, never read, is offered its neighbour\'s versions');
  t.ok(near.sent < first.sent / 2, `and is sent few (${near.sent} of ${near.used.length})`);
  const longer = await read(`${hours + 1} h`, hours + 1);
  t.same(longer.offered, first.used, 'and so is a longer one');
  t.ok(longer.sent < first.sent / 2, `and is sent few (${longer.sent} of ${longer.used.length})`);
  const worker = await read(`${hours} h, a worker`, hours, SHOWTIME);
  t.same(worker.offered, [], "another scope's versions are not offered");
  t.ok(worker.sent > 0 && worker.sent === worker.used.length, `so it is sent all of its own (${worker.sent})`);
  // Three windows at most: the first (the least recently used) is forgotten, its neighbours stay.
  await read(`${hours + 120} h`, hours + 120);
  const again = await read(`${hours} h again`, hours);
  t.ok(again.offered.length > 0 && again.sent < first.sent / 2, `a forgotten window still finds neighbours (${again.sent} sent)`);
  await write(spread(300, 3 * DAY_S, 20 * DAY_S, 3_000));
  await check(t, 'after late rows, near a window read before', undefined, cache, 700);
});
