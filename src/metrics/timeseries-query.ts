import { sql } from 'slonik';
import { z } from 'zod';
import type { Bucket } from '../schemas/timeseries.ts';
import { STATES } from '../schemas/common.ts';
import { stateCountsColumns, stateCountsShape } from './state-counts.ts';
import { scopeOf } from './scope.ts';
import { horizonSql } from '../retention/horizon.ts';

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
 *
 * A window reaching before the retention horizon (retention/horizon.ts) counts its first bucket from
 * the start of the window's UTC hour, from the hour rollups, like the metrics windows: the same
 * before and after pruning, and the points still add up to the metrics' totals.
 */
export function timeseriesQuery(hours: number, bucket: Bucket, worker?: string, retentionDays?: number) {
  const scope = scopeOf(worker);
  const size = sql.fragment`make_interval(hours => ${BUCKET_HOURS[bucket]})`;
  const stateSums = sql.join(
    STATES.map((state) => {
      const column = sql.identifier([state]);
      return sql.fragment`(coalesce(r.${column}, 0) + coalesce(p.${column}, 0) + e.${column})::bigint AS ${column}`;
    }),
    sql.fragment`, `,
  );
  return sql.prepared(`timeseries_${scope.name}`, TimeseriesRow)`
    WITH bounds AS (
      SELECT now() AS window_to, now() - make_interval(hours => ${hours}) AS window_from,
        coalesce(now() - make_interval(hours => ${hours}) < ${horizonSql(retentionDays)}, false) AS start_pruned
    ),
    buckets AS (
      SELECT k.start, k.start > b.window_from AND k.start + ${size} <= b.window_to AS whole,
        k.start <= b.window_from AND b.start_pruned AS pruned_edge
      FROM bounds b,
        generate_series(date_trunc(${bucket}, b.window_from, 'UTC'), date_trunc(${bucket}, b.window_to, 'UTC'), ${size}) AS k (start)
    ),
    -- Each source read once, in one range (or scan), then joined to the buckets by start.
    rolled AS (
      SELECT r.bucket AS start, r.completed, r.retryable, r.discarded, r.cancelled, r.snoozed
      FROM job_rollups r, bounds b
      WHERE r.grain = ${bucket} AND ${scope.rollups('r')} AND r.bucket > b.window_from AND r.bucket <= b.window_to
    ),
    unknowns AS (
      SELECT rr.bucket AS start, rr.n
      FROM job_rollup_reasons rr, bounds b
      WHERE rr.grain = ${bucket} AND ${scope.rollups('rr')} AND rr.bucket > b.window_from AND rr.bucket <= b.window_to AND rr.reason IS NULL
    ),
    pending AS (
      SELECT date_trunc(${bucket}, q.inserted_at, 'UTC') AS start, ${stateCountsColumns}
      FROM job_rollup_pending q, bounds b
      WHERE q.inserted_at > b.window_from AND q.inserted_at <= b.window_to ${scope.rows('q')}
      GROUP BY 1
    )
    SELECT b.window_from, b.window_to, k.start,
      (coalesce(r.completed + r.retryable + r.discarded + r.cancelled + r.snoozed, 0) + coalesce(p.executions, 0) + e.executions + f.executions)::bigint AS executions,
      ${stateSums},
      (coalesce(u.n, 0) + coalesce(p.unknown_reasons, 0) + e.unknown_reasons + f.unknown_reasons)::bigint AS unknown_reasons
    FROM bounds b
    CROSS JOIN buckets k
    LEFT JOIN rolled r ON k.whole AND r.start = k.start
    LEFT JOIN unknowns u ON k.whole AND u.start = k.start
    LEFT JOIN pending p ON k.whole AND p.start = k.start
    -- The two partial buckets: their raw rows inside the window (an aggregate without GROUP BY
    -- answers zeros, and a whole bucket skips the scan).
    CROSS JOIN LATERAL (
      SELECT ${stateCountsColumns}
      FROM (
        SELECT s.state, s.results ->> 'cancel_reason' AS reason
        FROM job_execution_summaries s
        WHERE NOT k.whole AND NOT k.pruned_edge AND s.inserted_at >= k.start AND s.inserted_at < k.start + ${size}
          AND s.inserted_at > b.window_from AND s.inserted_at <= b.window_to ${scope.rows('s')}
      ) AS rows_in_bucket
    ) AS e
    -- The first bucket of a window reaching before the horizon: whole hours from the window's hour on.
    CROSS JOIN LATERAL (
      SELECT ${sql.join(
        ['executions', ...STATES, 'unknown_reasons'].map((c) => sql.fragment`coalesce(sum(x.${sql.identifier([c])}), 0) AS ${sql.identifier([c])}`),
        sql.fragment`, `,
      )}
      FROM (
        SELECT hr.completed + hr.retryable + hr.discarded + hr.cancelled + hr.snoozed AS executions,
          hr.completed, hr.retryable, hr.discarded, hr.cancelled, hr.snoozed, 0::bigint AS unknown_reasons
        FROM job_rollups hr
        WHERE k.pruned_edge AND hr.grain = 'hour' AND ${scope.rollups('hr')}
          AND hr.bucket >= date_trunc('hour', b.window_from, 'UTC') AND hr.bucket < k.start + ${size}
        UNION ALL
        SELECT 0, 0, 0, 0, 0, 0, rr.n
        FROM job_rollup_reasons rr
        WHERE k.pruned_edge AND rr.grain = 'hour' AND ${scope.rollups('rr')} AND rr.reason IS NULL
          AND rr.bucket >= date_trunc('hour', b.window_from, 'UTC') AND rr.bucket < k.start + ${size}
        UNION ALL
        SELECT 1, (q.state = 'completed')::int, (q.state = 'retryable')::int, (q.state = 'discarded')::int,
          (q.state = 'cancelled')::int, (q.state = 'snoozed')::int, (q.state = 'cancelled' AND q.reason IS NULL)::int
        FROM job_rollup_pending q
        WHERE k.pruned_edge AND q.inserted_at >= date_trunc('hour', b.window_from, 'UTC') AND q.inserted_at < k.start + ${size} ${scope.rows('q')}
      ) AS x
    ) AS f
    ORDER BY k.start
  `;
}
