import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { Bucket } from '../schemas/timeseries.ts';
import { STATES } from '../schemas/common.ts';
import { summedStateCountsColumns, stateCountsShape } from './state-counts.ts';
import { scopeOf } from './scope.ts';
import { edgeRows, pendingRows, rollupPieces, windowSpans } from './rollup/window-pieces.ts';
import { horizonSql } from '../retention/horizon.ts';
import { workerKnown } from './workers-query.ts';
import { rowExecutions } from './rollup/row-executions.ts';

/** One bucket of the window; every row repeats the window bounds, read once in the same statement. */
export const TimeseriesRow = z.object({
  /** Whether the worker has ever been seen (always for the system): asked here to save a round trip. */
  known: z.boolean(),
  window_from: z.string(),
  window_to: z.string(),
  start: z.string(),
  ...stateCountsShape,
});
export type TimeseriesRow = z.infer<typeof TimeseriesRow>;

const BUCKET_HOURS: Record<Bucket, number> = { hour: 1, day: 24 };

/**
 * Executions per UTC hour or day in the window (now() - hours, now()]. Buckets are
 * date_trunc(bucket, inserted_at, 'UTC'), i.e. [start, start + 1 hour or 24 hours); generate_series yields every bucket from the one holding
 * the window's start to the one holding now(), so empty buckets come back as zeros. A UTC day is 24
 * hours, so the series steps by a fixed interval (never '1 day', which a session time zone with DST
 * would stretch).
 *
 * The window is cut into the same pieces as a metrics window (rollup/window-pieces.ts), none coarser
 * than a bucket: each rollup row, pending row and raw edge row falls in one bucket, and is added to
 * it. Exact, like the metrics windows, and no raw read covers more than a minute at either end.
 * Reaching before the retention horizon, the first bucket counts from the window's UTC hour on, like
 * the metrics window: the same before and after pruning.
 */
export function timeseriesQuery(hours: number, bucket: Bucket, worker?: string, retentionDays?: number) {
  const scope = scopeOf(worker);
  const size = sql.fragment`make_interval(hours => ${BUCKET_HOURS[bucket]})`;
  // date_trunc(bucket, t, 'UTC') as arithmetic: equal for every time after the origin (a window
  // starts at most MAX_HOURS before now), and it does no time zone conversion per row. Over 1M
  // pending rows date_trunc cost ≈ 390 of a read's 810 ms (docs/BENCHMARKS.md).
  const bucketOf = (time: FragmentSqlToken) => sql.fragment`date_bin(${size}, ${time}, timestamptz '2000-01-01 00:00:00+00')`;
  const stateSums = sql.join(
    STATES.map((state) => {
      const column = sql.identifier([state]);
      return sql.fragment`(coalesce(r.${column}, 0) + coalesce(e.${column}, 0))::bigint AS ${column}`;
    }),
    sql.fragment`, `,
  );
  return sql.prepared(`timeseries_${scope.name}`, TimeseriesRow)`
    WITH ${windowSpans(sql.fragment`now()`, sql.fragment`now() - make_interval(hours => ${hours})`, bucket, scope, horizonSql(retentionDays))},
    buckets AS (
      SELECT k.start
      FROM ending b,
        generate_series(${bucketOf(sql.fragment`b.t_from`)}, ${bucketOf(sql.fragment`b.t_to`)}, ${size}) AS k (start)
    ),
    rolled AS (
      SELECT ${bucketOf(sql.fragment`t.bucket`)} AS start,
        ${sql.join(STATES.map((state) => sql.fragment`sum(t.${sql.identifier([state])}) AS ${sql.identifier([state])}`), sql.fragment`, `)}
      FROM (${rollupPieces('job_rollups', scope, ['bucket', ...STATES])}) t
      GROUP BY 1
    ),
    unknowns AS (
      SELECT ${bucketOf(sql.fragment`t.bucket`)} AS start, sum(t.n) AS n
      FROM (${rollupPieces('job_rollup_reasons', scope, ['bucket', 'reason', 'n'])}) t
      WHERE t.reason IS NULL
      GROUP BY 1
    ),
    loose AS (
      SELECT start, ${summedStateCountsColumns}
      FROM (
        SELECT ${bucketOf(sql.fragment`x.inserted_at`)} AS start, x.state, nullif(x.reason IS NULL, true) AS reason, sum(x.sign) AS n
        FROM (${edgeRows(scope)} UNION ALL ${pendingRows(scope)}) x
        GROUP BY 1, 2, x.reason IS NULL
      ) g
      GROUP BY 1
    )
    SELECT ${workerKnown(worker)} AS known, b.t_from AS window_from, b.t_to AS window_to, k.start,
      (coalesce(${rowExecutions('r')}, 0) + coalesce(e.executions, 0))::bigint AS executions,
      ${stateSums},
      (coalesce(u.n, 0) + coalesce(e.unknown_reasons, 0))::bigint AS unknown_reasons
    FROM ending b
    CROSS JOIN buckets k
    LEFT JOIN rolled r ON r.start = k.start
    LEFT JOIN unknowns u ON u.start = k.start
    LEFT JOIN loose e ON e.start = k.start
    ORDER BY k.start
  `;
}
