import { sql } from 'slonik';
import { z } from 'zod';
import { STATES } from '../../schemas/common.ts';
import { WindowMetricsRow } from '../window-metrics-query.ts';
import { scopeOf } from '../scope.ts';

/** The raw query's row, with the histogram instead of percentiles, and what was read. */
export const RollupMetricsRow = WindowMetricsRow.omit({ duration_pct: true }).extend({
  /** [bin, count] pairs of the window's duration histogram (see histogram.ts). */
  histogram: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** percentile_cont over the raw rows: exact when no rollup row was used. */
  raw_pct: z.array(z.number()).nullable(),
  rollup_rows: z.number().int(),
  raw_rows: z.number().int(),
});
export type RollupMetricsRow = z.infer<typeof RollupMetricsRow>;

/**
 * The window (now() − offset − hours, now() − offset] as disjoint pieces: whole UTC months, days
 * and hours from the rollups, and the raw rows of the two partial edges (each under an hour), so
 * every row is counted exactly once. A window without a whole hour inside is all raw. Rows of the
 * whole buckets still in `job_rollup_pending` are read with the raw rows (rollup-upserts.ts).
 */
export function rollupMetricsQuery(hours: number, offsetHours: number, worker?: string) {
  const scope = scopeOf(worker);
  const pieces = (name: 'job_rollups' | 'job_rollup_reasons') => {
    const table = sql.identifier([name]);
    return sql.fragment`
    SELECT t.* FROM ${table} t, spans p WHERE t.grain = 'month' AND ${scope.rollups('t')} AND t.bucket >= p.mlo AND t.bucket < p.mhi
    UNION ALL SELECT t.* FROM ${table} t, spans p WHERE t.grain = 'day' AND ${scope.rollups('t')} AND t.bucket >= p.dlo AND t.bucket < p.mlo
    UNION ALL SELECT t.* FROM ${table} t, spans p WHERE t.grain = 'day' AND ${scope.rollups('t')} AND t.bucket >= p.mhi AND t.bucket < p.dhi
    UNION ALL SELECT t.* FROM ${table} t, spans p WHERE t.grain = 'hour' AND ${scope.rollups('t')} AND t.bucket >= p.hlo AND t.bucket < p.dlo
    UNION ALL SELECT t.* FROM ${table} t, spans p WHERE t.grain = 'hour' AND ${scope.rollups('t')} AND t.bucket >= p.dhi AND t.bucket < p.hhi`;
  };
  return sql.prepared(`window_rollup_${scope.name}`, RollupMetricsRow)`
    WITH bounds AS (
      SELECT now() - make_interval(hours => ${offsetHours}) AS t_to,
             now() - make_interval(hours => ${offsetHours + hours}) AS t_from
    ),
    h AS (
      SELECT *, date_trunc('hour', t_from, 'UTC') + interval '1 hour' AS h1, date_trunc('hour', t_to, 'UTC') AS h2 FROM bounds
    ),
    d AS (
      SELECT *,
        CASE WHEN date_trunc('day', h1, 'UTC') = h1 THEN h1 ELSE date_trunc('day', h1, 'UTC') + interval '24 hours' END AS d1,
        date_trunc('day', h2, 'UTC') AS d2
      FROM h
    ),
    m AS (
      SELECT *,
        CASE WHEN date_trunc('month', d1, 'UTC') = d1 THEN d1
             ELSE date_trunc('month', date_trunc('month', d1, 'UTC') + interval '768 hours', 'UTC') END AS m1,
        date_trunc('month', d2, 'UTC') AS m2
      FROM d
    ),
    spans AS (
      SELECT t_from, t_to,
        h1 AS hlo,
        CASE WHEN h1 < h2 THEN h2 ELSE h1 END AS hhi,
        CASE WHEN h1 >= h2 THEN h1 WHEN d1 < d2 THEN d1 ELSE h2 END AS dlo,
        CASE WHEN h1 >= h2 THEN h1 WHEN d1 < d2 THEN d2 ELSE h2 END AS dhi,
        CASE WHEN h1 >= h2 THEN h1 WHEN d1 >= d2 THEN h2 WHEN m1 < m2 THEN m1 ELSE d2 END AS mlo,
        CASE WHEN h1 >= h2 THEN h1 WHEN d1 >= d2 THEN h2 WHEN m1 < m2 THEN m2 ELSE d2 END AS mhi
      FROM m
    ),
    raw AS (
      SELECT s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms
      FROM job_execution_summaries s, spans p
      WHERE s.inserted_at > p.t_from AND s.inserted_at < p.hlo AND s.inserted_at <= p.t_to ${scope.rows('s')}
      UNION ALL
      SELECT s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END, s.duration_ms
      FROM job_execution_summaries s, spans p
      WHERE s.inserted_at >= p.hhi AND s.inserted_at <= p.t_to AND s.inserted_at > p.t_from ${scope.rows('s')}
      UNION ALL
      -- Inserted rows of the whole buckets that are not folded into the rollups yet count like raw rows.
      SELECT q.state, q.reason, q.duration_ms
      FROM job_rollup_pending q, spans p
      WHERE q.inserted_at >= p.hlo AND q.inserted_at < p.hhi ${scope.rows('q')}
    ),
    stats AS (${pieces('job_rollups')}),
    reasons AS (${pieces('job_rollup_reasons')}),
    from_rollups AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`coalesce(sum(${sql.identifier([state])}), 0) AS ${sql.identifier([state])}`), sql.fragment`, `)},
        coalesce(sum(dur_count), 0) AS durations, coalesce(sum(dur_sum), 0) AS duration_sum, max(dur_max) AS duration_max,
        count(*) + (SELECT count(*) FROM reasons) AS n
      FROM stats
    ),
    from_raw AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`count(*) FILTER (WHERE state = ${state}) AS ${sql.identifier([state])}`), sql.fragment`, `)},
        count(duration_ms) AS durations, coalesce(sum(duration_ms), 0) AS duration_sum, max(duration_ms) AS duration_max, count(*) AS n,
        percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS raw_pct
      FROM raw
    ),
    totals AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`a.${sql.identifier([state])} + b.${sql.identifier([state])} AS ${sql.identifier([state])}`), sql.fragment`, `)},
        a.durations + b.durations AS durations, a.duration_sum + b.duration_sum AS duration_sum,
        greatest(a.duration_max, b.duration_max) AS duration_max, a.n AS rollup_rows, b.n AS raw_rows, b.raw_pct
      FROM from_rollups a, from_raw b
    ),
    reason_counts AS (
      SELECT reason, sum(n) AS n FROM (
        SELECT reason, n FROM reasons
        UNION ALL SELECT reason, 1 FROM raw WHERE state = 'cancelled'
      ) x GROUP BY reason
    ),
    bins AS (
      SELECT bin, sum(n) AS n FROM (
        SELECT u.bin, u.n FROM stats, unnest(stats.hist[:][1:1], stats.hist[:][2:2]) AS u (bin, n)
        UNION ALL SELECT job_rollup_bin(duration_ms), 1 FROM raw WHERE duration_ms IS NOT NULL
      ) x GROUP BY bin HAVING sum(n) <> 0
    )
    SELECT
      p.t_from AS window_from, p.t_to AS window_to,
      (t.completed + t.retryable + t.discarded + t.cancelled + t.snoozed)::bigint AS executions,
      t.completed::bigint AS completed, t.retryable::bigint AS retryable, t.discarded::bigint AS discarded,
      t.cancelled::bigint AS cancelled, t.snoozed::bigint AS snoozed,
      coalesce((SELECT n FROM reason_counts WHERE reason IS NULL), 0)::bigint AS unknown_reasons,
      (SELECT coalesce(json_agg(json_build_object('reason', reason, 'count', n) ORDER BY n DESC, reason COLLATE "C"), '[]')
         FROM reason_counts WHERE reason IS NOT NULL AND n > 0) AS by_reason,
      t.durations::bigint AS durations,
      CASE WHEN t.durations > 0 THEN (t.duration_sum::numeric / t.durations)::float8 END AS duration_avg,
      t.duration_max,
      (SELECT coalesce(json_agg(json_build_array(bin, n) ORDER BY bin), '[]') FROM bins) AS histogram,
      t.raw_pct,
      t.rollup_rows::bigint AS rollup_rows, t.raw_rows::bigint AS raw_rows
    FROM spans p, totals t
  `;
}
