/**
 * The rollups' upserts as the service itself runs them (rebuild, backfill, the audit's copies). The
 * schema, functions and triggers are the migrations' (migrations/sql/), frozen once released; this
 * file must add rows exactly as `job_rollup_fold()` does (test/rollup.test.ts compares them).
 *
 * The rollups, kept exact inside PostgreSQL. `job_rollups` holds one row per (grain, worker,
 * bucket) — grain ten_seconds or minute (recent only), hour, day or month in UTC, worker NULL for "every worker" —
 * with counts per state, duration count / sum / max, a sparse histogram `hist` = {{bin, count}, …}
 * (histogram.ts) and `latest`, an upper bound of its rows' inserted_at (exact until a row is deleted):
 * the bucket holding now() is whole once `latest` ≤ now().
 * `job_rollup_reasons` counts cancelled rows per reason, the NULL reason as its own key (never
 * merged with a literal "unknown").
 *
 * Statement-level triggers with transition tables see every write of any writer, in its transaction:
 * - INSERT of up to 10,000 rows appends their counted fields to `job_rollup_pending` (no upsert, no
 *   hot row, no histogram rewritten), which reads add like raw rows; `job_rollup_fold()` later moves
 *   them into the rollups in one transaction, so a reader sees each row exactly once, pending or
 *   folded. A bigger statement (a bulk load) folds its own rows, as the fold would, under the lock
 *   (migration 1764040000000): reads never sum a backlog of a million pending rows.
 * - UPDATE and DELETE (rare) fold first, then apply their changes as signed deltas and recompute
 *   the max of every bucket that lost a row, so the pending rows never hold a stale max.
 * One advisory lock serialises folds, bulk inserts and UPDATE/DELETE appliers; small inserts never
 * take it.
 */
export const GRAINS = ['ten_seconds', 'minute', 'hour', 'day', 'month'] as const;
export type Grain = (typeof GRAINS)[number];

/**
 * Minute rollups exist only for the recent past: they serve the edges of windows that start within
 * MINUTE_READ_HOURS, so a raw read covers at most a minute whatever the rate. Every writer skips
 * minutes older than MINUTE_KEEP_HOURS and the fold deletes them; the day between the two is the
 * margin that keeps every minute a reader uses complete, whichever of two clocks ran first.
 */
export const MINUTE_KEEP_HOURS = 792;
export const MINUTE_READ_HOURS = 768;

/**
 * Ten-second rollups (migration 1764070000000) serve the start of windows that start within
 * TEN_SECONDS_READ_HOURS in a dense minute, so a raw read there covers at most ten seconds. Writers
 * group rows stamped within TEN_SECONDS_KEEP_HOURS per ten seconds; the UPDATE/DELETE appliers do not
 * keep these rows up to date but drop them, so a reader uses a minute's ten-second rows only when
 * they sum to the minute's row (window-pieces.ts).
 */
export const TEN_SECONDS_KEEP_HOURS = 26;
export const TEN_SECONDS_READ_HOURS = 24;

const STATE_COLUMNS = ['completed', 'retryable', 'discarded', 'cancelled', 'snoozed'] as const;

/** The key of the advisory lock that serialises folds and UPDATE/DELETE appliers (any constant, documented). */
export const FOLD_LOCK_KEY = 7_301_964_118;

/** The counted fields of the raw rows aliased `alias`, as the insert trigger appends them to the pending table. */
const rowFields = (alias: string) =>
  `${alias}.inserted_at, ${alias}.worker, ${alias}.state, CASE WHEN ${alias}.state = 'cancelled' THEN ${alias}.results ->> 'cancel_reason' END AS reason, ${alias}.duration_ms`;

const MIDNIGHT = `timestamptz '2000-01-01 00:00:00+00'`;
/** Which grouping set a row came from: its grain ("every worker" is GROUPING(worker) = 1). */
const grainOf = `CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
        WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END`;
/** The column of `spread` that holds each grain's bucket. */
const bucketColumn = (grain: Grain) => (grain === 'ten_seconds' ? 'ten' : grain);
/** Every grain, per worker and for "every worker", each set keyed also by `key` when given. */
const groupingSets = (key: string) =>
  GRAINS.map((g) => [bucketColumn(g), key].filter(Boolean).join(', ')).map((k) => `(${k}, worker), (${k})`).join(',\n        ');
/**
 * Rows of grains every writer keeps at this age: minutes and ten seconds only recent ones. `of` is
 * the table alias with its dot, or nothing.
 */
export const keptBuckets = (of = '') => `(${of}grain <> 'minute' OR ${of}bucket >= now() - interval '${MINUTE_KEEP_HOURS} hours')
      AND (${of}grain <> 'ten_seconds' OR ${of}bucket >= now() - interval '${TEN_SECONDS_KEEP_HOURS} hours')`;

/**
 * The UTC month holding `at`, as the rollups key it: rows of late November 4714 BC, whose month
 * starts before PostgreSQL's first instant, are keyed by that instant (migration 1764100000000).
 */
export const monthBucket = (at: string) =>
  `CASE WHEN isfinite(${at}) AND ${at} < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ${at}, 'UTC') END`;

/** Each grain's bucket beside `ten` (ten seconds, or the minute for rows older than the keep). */
const spreadColumns = `date_bin('1 minute', ten, ${MIDNIGHT}) AS minute, date_bin('1 hour', ten, ${MIDNIGHT}) AS hour,
      date_bin('1 day', ten, ${MIDNIGHT}) AS day, ${monthBucket('ten')} AS month`;
/**
 * (grain, bucket, worker) of a GROUPING SETS row (worker NULL: "every worker"), and `set`, which
 * grain as an integer: sorting hundreds of thousands of histogram bins by the grain's text cost a
 * third of the fold.
 */
const setKey = `${grainOf} AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
      GROUPING(ten, minute, hour, day, month) AS set`;

/**
 * One statement that adds `rows` (inserted_at, worker, state, reason, duration_ms; worker never
 * NULL) to the rollups, as `job_rollup_fold()` does since migration 1764070000000. The rows are
 * grouped once per (ten seconds, worker, state, reason, bin) — per minute for rows older than
 * TEN_SECONDS_KEEP_HOURS, whose ten-second sets are filtered out — and then three ways, each
 * summed into every grain and "every worker" by GROUPING SETS: the counts, sums and maxima per
 * (ten seconds, worker), a few thousand groups; the histogram bins per (ten seconds, worker, bin),
 * with one sum each; the reasons of cancelled rows. Summing every column per bin, as the fold
 * before it did, cost twice as much once ten seconds made the groups many. Rows are locked in one
 * global order (grain, worker, bucket[, reason]): concurrent writers queue, never deadlock. Its
 * result is the number of rows added.
 */
export function addRowsSql(rows: string): string {
  return `WITH
  changed AS (${rows}),
  fine AS (
    SELECT date_bin(CASE WHEN inserted_at >= now() - interval '${TEN_SECONDS_KEEP_HOURS} hours' THEN interval '10 seconds' ELSE interval '1 minute' END,
             inserted_at, ${MIDNIGHT}) AS ten, worker, state, reason,
           job_rollup_bin(duration_ms) AS bin, count(*) AS n, count(duration_ms) AS durations, sum(duration_ms::bigint) AS dur_sum,
           max(duration_ms) AS dur_max, max(inserted_at) AS latest
    FROM changed GROUP BY 1, 2, 3, 4, 5
  ),
  totals AS (
    SELECT ${setKey},
      ${STATE_COLUMNS.map((s) => `coalesce(sum(n) FILTER (WHERE state = '${s}'), 0) AS ${s}`).join(',\n      ')},
      sum(durations) AS dur_count, coalesce(sum(dur_sum), 0) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
    FROM (
      SELECT ten, worker, state, sum(n) AS n, sum(durations) AS durations, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max,
        max(latest) AS latest, ${spreadColumns}
      FROM fine GROUP BY ten, worker, state
    ) f
    GROUP BY GROUPING SETS (
      ${groupingSets('')})
  ),
  hists AS (
    SELECT set, bucket, worker COLLATE "C" AS worker, array_agg(ARRAY[bin, n::integer] ORDER BY bin) AS hist
    FROM (
      SELECT ${setKey}, bin, sum(n) AS n
      FROM (
        SELECT ten, worker, bin, sum(n) AS n, ${spreadColumns}
        FROM fine WHERE bin IS NOT NULL GROUP BY ten, worker, bin
      ) f
      GROUP BY GROUPING SETS (
        ${groupingSets('bin')})
    ) b
    GROUP BY set, bucket, worker COLLATE "C"
  ),
  stats AS (
    INSERT INTO job_rollups AS r (grain, worker, bucket, ${STATE_COLUMNS.join(', ')}, dur_count, dur_sum, dur_max, hist, latest)
    SELECT t.grain, t.worker, t.bucket, ${STATE_COLUMNS.map((s) => `t.${s}`).join(', ')},
      t.dur_count, t.dur_sum, t.dur_max, coalesce(h.hist, '{}'), t.latest
    FROM totals t
    LEFT JOIN hists h ON h.set = t.set AND h.bucket = t.bucket AND (h.worker IS NULL) = (t.worker IS NULL)
      AND coalesce(h.worker, '') = coalesce(t.worker, '')
    WHERE ${keptBuckets('t.')}
    ORDER BY t.grain, t.worker COLLATE "C", t.bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      ${STATE_COLUMNS.map((s) => `${s} = r.${s} + EXCLUDED.${s}`).join(',\n      ')},
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist),
      latest = greatest(r.latest, EXCLUDED.latest)
  ),
  reasons AS (
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, n FROM (
      SELECT ${setKey}, reason, sum(n) AS n
      FROM (
        SELECT ten, worker, reason, sum(n) AS n, ${spreadColumns}
        FROM fine WHERE state = 'cancelled' GROUP BY ten, worker, reason
      ) f
      GROUP BY GROUPING SETS (
        ${groupingSets('reason')})
    ) x
    WHERE ${keptBuckets()}
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
  )
  SELECT coalesce(sum(n), 0) AS added FROM fine`;
}

/** The upsert that adds every pending row to whatever tables `job_rollups` names (the audit's copies). */
export const foldPendingSql = (): string =>
  addRowsSql('SELECT inserted_at, worker, state, reason, duration_ms FROM public.job_rollup_pending');

/** The backfill of the raw rows in [from, to), or at `from` alone when the two are equal (±infinity). */
export const backfillSql = (from: string, to: string): string =>
  addRowsSql(`SELECT ${rowFields('s')} FROM job_execution_summaries s
    WHERE ${from === to ? `s.inserted_at = '${from}'::timestamptz` : `s.inserted_at >= '${from}'::timestamptz AND s.inserted_at < '${to}'::timestamptz`}`);
