import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { Bucket } from '../schemas/timeseries.ts';
import { STATES } from '../schemas/common.ts';
import { stateCountsShape } from './state-counts.ts';

/** One bucket of the window; every row repeats the window bounds, read once in the same statement. */
export const TimeseriesRow = z.object({
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
 * A bucket wholly inside the window is its hour or day rollup row (states; the NULL-reason count from
 * the reason rollups) plus its rows still pending a fold; the two partial edge buckets count their
 * raw rows, only those inside the window. Exact either way, like the metrics windows.
 */
export function timeseriesQuery(hours: number, bucket: Bucket, worker?: string) {
  const workerFilter: FragmentSqlToken = worker === undefined ? sql.fragment`` : sql.fragment`AND s.worker = ${worker}`;
  const scope: FragmentSqlToken = worker === undefined ? sql.fragment`worker IS NULL` : sql.fragment`worker = ${worker}`;
  const pendingScope: FragmentSqlToken = worker === undefined ? sql.fragment`` : sql.fragment`AND q.worker = ${worker}`;
  const size = sql.fragment`make_interval(hours => ${BUCKET_HOURS[bucket]})`;
  const stateSums = sql.join(
    STATES.map((state) => sql.fragment`coalesce(sum(n) FILTER (WHERE state = ${state}), 0)::bigint AS ${sql.identifier([state])}`),
    sql.fragment`, `,
  );
  return sql.prepared(`timeseries_${worker === undefined ? 'system' : 'worker'}`, TimeseriesRow)`
    WITH bounds AS (
      SELECT now() AS window_to, now() - make_interval(hours => ${hours}) AS window_from
    ),
    buckets AS (
      SELECT k.start, k.start > b.window_from AND k.start + ${size} <= b.window_to AS whole
      FROM bounds b,
        generate_series(date_trunc(${bucket}, b.window_from, 'UTC'), date_trunc(${bucket}, b.window_to, 'UTC'), ${size}) AS k (start)
    ),
    -- Read once, not once per bucket: the pending table has no index.
    pending AS (
      SELECT date_trunc(${bucket}, q.inserted_at, 'UTC') AS start, q.state, count(*) AS n,
             count(*) FILTER (WHERE q.state = 'cancelled' AND q.reason IS NULL) AS unknown
      FROM job_rollup_pending q, bounds b
      WHERE q.inserted_at > b.window_from AND q.inserted_at <= b.window_to ${pendingScope}
      GROUP BY 1, 2
    )
    SELECT b.window_from, b.window_to, k.start, c.*
    FROM bounds b
    CROSS JOIN buckets k
    -- One index lookup or range per bucket: an aggregate without GROUP BY answers zeros for an empty
    -- bucket, and no sort of the window's rows by bucket is needed.
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(n), 0)::bigint AS executions, ${stateSums}, coalesce(sum(unknown), 0)::bigint AS unknown_reasons
      FROM (
        SELECT s.state, 1 AS n, CASE WHEN s.state = 'cancelled' AND s.results ->> 'cancel_reason' IS NULL THEN 1 ELSE 0 END AS unknown
        FROM job_execution_summaries s
        WHERE NOT k.whole AND s.inserted_at >= k.start AND s.inserted_at < k.start + ${size}
          AND s.inserted_at > b.window_from AND s.inserted_at <= b.window_to ${workerFilter}
        UNION ALL
        SELECT x.state, x.n, 0
        FROM job_rollups r
        CROSS JOIN LATERAL (VALUES ${sql.join(
          STATES.map((state) => sql.fragment`(${state}, r.${sql.identifier([state])})`),
          sql.fragment`, `,
        )}) AS x (state, n)
        WHERE k.whole AND r.grain = ${bucket} AND r.${scope} AND r.bucket = k.start
        UNION ALL
        SELECT NULL, 0, rr.n
        FROM job_rollup_reasons rr
        WHERE k.whole AND rr.grain = ${bucket} AND rr.${scope} AND rr.bucket = k.start AND rr.reason IS NULL
        UNION ALL
        SELECT p.state, p.n, p.unknown FROM pending p WHERE k.whole AND p.start = k.start
      ) AS in_bucket
    ) AS c
    ORDER BY k.start
  `;
}
