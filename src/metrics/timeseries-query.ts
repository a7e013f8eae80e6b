import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { Bucket } from '../schemas/timeseries.ts';
import { stateCountsColumns, stateCountsShape } from './state-counts.ts';

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
 * the window's start to the one holding now(), so empty buckets come back as zeros. The first and
 * last buckets are partial: only rows inside the window count. A UTC day is 24 hours, so the series
 * steps by a fixed interval (never '1 day', which a session time zone with DST would stretch).
 */
export function timeseriesQuery(hours: number, bucket: Bucket, worker?: string) {
  const workerFilter: FragmentSqlToken = worker === undefined ? sql.fragment`` : sql.fragment`AND s.worker = ${worker}`;
  return sql.type(TimeseriesRow)`
    WITH bounds AS (
      SELECT now() AS window_to, now() - make_interval(hours => ${hours}) AS window_from
    ),
    buckets AS (
      SELECT generate_series(
        date_trunc(${bucket}, b.window_from, 'UTC'),
        date_trunc(${bucket}, b.window_to, 'UTC'),
        make_interval(hours => ${BUCKET_HOURS[bucket]})
      ) AS start
      FROM bounds b
    )
    SELECT b.window_from, b.window_to, k.start, c.*
    FROM bounds b
    CROSS JOIN buckets k
    -- One index range per bucket: an aggregate without GROUP BY answers zeros for an empty bucket,
    -- and no sort of the window's rows by bucket is needed (the planner cannot estimate date_trunc
    -- groups, and sorted 333k rows on disk for a 30-day window).
    CROSS JOIN LATERAL (
      SELECT ${stateCountsColumns}
      FROM (
        SELECT s.state, s.results ->> 'cancel_reason' AS reason
        FROM job_execution_summaries s
        WHERE s.inserted_at >= k.start AND s.inserted_at < k.start + make_interval(hours => ${BUCKET_HOURS[bucket]})
          AND s.inserted_at > b.window_from AND s.inserted_at <= b.window_to ${workerFilter}
      ) AS rows_in_bucket
    ) AS c
    ORDER BY k.start
  `;
}
