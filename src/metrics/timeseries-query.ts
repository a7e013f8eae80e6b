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
 * date_trunc(bucket, inserted_at, 'UTC'); generate_series yields every bucket from the one holding
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
    ),
    scoped AS (
      SELECT date_trunc(${bucket}, s.inserted_at, 'UTC') AS start, s.state, s.results ->> 'cancel_reason' AS reason
      FROM job_execution_summaries s
      -- The bounds written out (not joined from bounds) so the planner can estimate the window.
      WHERE s.inserted_at > now() - make_interval(hours => ${hours}) AND s.inserted_at <= now() ${workerFilter}
    ),
    counts AS (
      SELECT start, ${stateCountsColumns}
      FROM scoped
      GROUP BY start
    )
    SELECT
      b.window_from,
      b.window_to,
      k.start,
      coalesce(c.executions, 0) AS executions,
      coalesce(c.completed, 0) AS completed,
      coalesce(c.retryable, 0) AS retryable,
      coalesce(c.discarded, 0) AS discarded,
      coalesce(c.cancelled, 0) AS cancelled,
      coalesce(c.snoozed, 0) AS snoozed,
      coalesce(c.unknown_reasons, 0) AS unknown_reasons
    FROM bounds b
    CROSS JOIN buckets k
    LEFT JOIN counts c ON c.start = k.start
    ORDER BY k.start
  `;
}
