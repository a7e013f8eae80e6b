/**
 * The rollups' upserts as the service itself runs them (rebuild, backfill, the audit's copies). The
 * schema, functions and triggers are the migrations' (migrations/sql/), frozen once released; this
 * file must add rows exactly as `job_rollup_fold()` does (test/rollup.test.ts compares them).
 *
 * The rollups, kept exact inside PostgreSQL. `job_rollups` holds one row per (grain, worker,
 * bucket) — grain minute (recent only), hour, day or month in UTC, worker NULL for "every worker" —
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
export const GRAINS = ['minute', 'hour', 'day', 'month'] as const;
export type Grain = (typeof GRAINS)[number];

/**
 * Minute rollups exist only for the recent past: they serve the edges of windows that start within
 * MINUTE_READ_HOURS, so a raw read covers at most a minute whatever the rate. Every writer skips
 * minutes older than MINUTE_KEEP_HOURS and the fold deletes them; the day between the two is the
 * margin that keeps every minute a reader uses complete, whichever of two clocks ran first.
 */
export const MINUTE_KEEP_HOURS = 792;
export const MINUTE_READ_HOURS = 768;

const STATE_COLUMNS = ['completed', 'retryable', 'discarded', 'cancelled', 'snoozed'] as const;

/** The key of the advisory lock that serialises folds and UPDATE/DELETE appliers (any constant, documented). */
export const FOLD_LOCK_KEY = 7_301_964_118;

/** The counted fields of the raw rows aliased `alias`, as the insert trigger appends them to the pending table. */
const rowFields = (alias: string) =>
  `${alias}.inserted_at, ${alias}.worker, ${alias}.state, CASE WHEN ${alias}.state = 'cancelled' THEN ${alias}.results ->> 'cancel_reason' END AS reason, ${alias}.duration_ms`;

const MIDNIGHT = `timestamptz '2000-01-01 00:00:00+00'`;
/** Which grouping set of `binned` a row came from: its grain ("every worker" is GROUPING(worker) = 1). */
const grainOf = `CASE WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
        WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END`;
const groupingSets = (key: string) => GRAINS.map((g) => `(${g}, worker, ${key}), (${g}, ${key})`).join(',\n        ');
const recentEnough = `grain <> 'minute' OR bucket >= now() - interval '${MINUTE_KEEP_HOURS} hours'`;

/**
 * One statement that adds `rows` (inserted_at, worker, state, reason, duration_ms; worker never
 * NULL) to the rollups, as `job_rollup_fold()` does since migration 1764050000000: grouped once per
 * (minute, worker, state, reason, bin), then summed into every grain and "every worker" by GROUPING
 * SETS. Rows are locked in one global order (grain, worker, bucket[, reason]): concurrent writers
 * queue, never deadlock. Its result is the number of rows added.
 */
export function addRowsSql(rows: string): string {
  return `WITH
  changed AS (${rows}),
  fine AS (
    SELECT date_bin('1 minute', inserted_at, ${MIDNIGHT}) AS minute, worker, state, reason,
           job_rollup_bin(duration_ms) AS bin, count(*) AS n, sum(duration_ms::bigint) AS dur_sum,
           max(duration_ms) AS dur_max, max(inserted_at) AS latest
    FROM changed GROUP BY 1, 2, 3, 4, 5
  ),
  spread AS (
    SELECT f.*, date_bin('1 hour', f.minute, ${MIDNIGHT}) AS hour,
      date_bin('1 day', f.minute, ${MIDNIGHT}) AS day, date_trunc('month', f.minute, 'UTC') AS month
    FROM fine f
  ),
  binned AS (
    SELECT ${grainOf} AS grain,
      worker, coalesce(minute, hour, day, month) AS bucket, bin,
      ${STATE_COLUMNS.map((s) => `sum(n) FILTER (WHERE state = '${s}') AS ${s}`).join(',\n      ')},
      sum(n) AS n, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
    FROM spread GROUP BY GROUPING SETS (
      ${groupingSets('bin')})
  ),
  stats AS (
    INSERT INTO job_rollups AS r (grain, worker, bucket, ${STATE_COLUMNS.join(', ')}, dur_count, dur_sum, dur_max, hist, latest)
    SELECT grain, worker, bucket,
      ${STATE_COLUMNS.map((s) => `coalesce(sum(${s}), 0)`).join(',\n      ')},
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n::bigint) FILTER (WHERE bin IS NOT NULL)),
      max(latest)
    FROM binned
    WHERE ${recentEnough}
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
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
      SELECT ${grainOf} AS grain,
        worker, coalesce(minute, hour, day, month) AS bucket, reason, sum(n) AS n
      FROM spread WHERE state = 'cancelled'
      GROUP BY GROUPING SETS (
        ${groupingSets('reason')})
    ) x
    WHERE ${recentEnough}
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
  )
  SELECT coalesce(sum(n), 0) AS added FROM fine`;
}

/** The upsert that adds every pending row to whatever tables `job_rollups` names (the audit's copies). */
export const foldPendingSql = (): string =>
  addRowsSql('SELECT inserted_at, worker, state, reason, duration_ms FROM public.job_rollup_pending');

/** The backfill of one range of raw rows, through the same upsert the fold uses. */
export const backfillSql = (from: string, to: string): string =>
  addRowsSql(`SELECT ${rowFields('s')} FROM job_execution_summaries s
    WHERE s.inserted_at >= '${from}'::timestamptz AND s.inserted_at < '${to}'::timestamptz`);
