import { sql } from 'slonik';
import { z } from 'zod';
import { STATES } from '../../schemas/common.ts';
import { WindowMetricsRow } from '../window-metrics-query.ts';
import { scopeOf } from '../scope.ts';
import { edgeRows, pendingRows, rollupPieces, windowSpans } from './window-pieces.ts';
import { horizonSql } from '../../retention/horizon.ts';

/** The raw query's row, with the histogram instead of percentiles, and what was read. */
export const RollupMetricsRow = WindowMetricsRow.omit({ duration_pct: true }).extend({
  /** [bin, count] pairs of the window's duration histogram (see histogram.ts). */
  histogram: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** percentile_cont over the raw and pending rows, computed only when no rollup row was used. */
  raw_pct: z.array(z.number()).nullable(),
  rollup_rows: z.number().int(),
  raw_rows: z.number().int(),
  /** Set only when the window reaches before the retention horizon (window-pieces.ts). */
  horizon: z.string().nullable(),
  earliest_raw_row: z.string().nullable(),
  counted_from: z.string(),
  counted_to: z.string(),
});
export type RollupMetricsRow = z.infer<typeof RollupMetricsRow>;

/**
 * The window (now() − offset − hours, now() − offset] as disjoint pieces (window-pieces.ts): whole
 * months, days, hours and minutes from the rollups, the bucket holding its end when it is whole, and
 * raw rows only for the rest (under a minute at each end, or half of one taken away). Rows of the rollup pieces still pending a
 * fold are aggregated by (state, reason, bin) on the way, never sorted; percentile_cont runs over the
 * raw and pending rows only when no rollup row was used. A window reaching before the retention
 * horizon says where counting started and ended (whole hours there).
 */
export function rollupMetricsQuery(hours: number, offsetHours: number, worker?: string, retentionDays?: number) {
  const scope = scopeOf(worker);
  const stateSums = (alias: string) =>
    sql.join(STATES.map((state) => sql.fragment`coalesce(sum(${sql.identifier([alias, state])}), 0) AS ${sql.identifier([state])}`), sql.fragment`, `);
  return sql.prepared(`window_rollup_${scope.name}`, RollupMetricsRow)`
    WITH ${windowSpans(
      sql.fragment`now() - make_interval(secs => ${offsetHours * 3600})`,
      sql.fragment`now() - make_interval(secs => ${(offsetHours + hours) * 3600})`,
      'month',
      scope,
      horizonSql(retentionDays),
    )},
    raw AS (${edgeRows(scope)}),
    pending AS NOT MATERIALIZED (${pendingRows(scope)}),
    -- The raw edges and the pending rows, summed per (state, reason, bin) with their signs: a few
    -- hundred groups however many rows a burst left pending. Maxima by part (window-pieces.ts):
    -- rows kept outside the first bucket, rows pending in it, rows taken away from it.
    loose AS (
      SELECT state, reason, job_rollup_bin(duration_ms) AS bin, sum(sign) AS n, count(*) AS read,
             coalesce(sum(sign) FILTER (WHERE duration_ms IS NOT NULL), 0) AS durations,
             coalesce(sum(sign * duration_ms::bigint), 0) AS duration_sum,
             max(duration_ms) FILTER (WHERE sign > 0 AND NOT in_start) AS duration_max,
             max(duration_ms) FILTER (WHERE in_start) AS start_max,
             max(duration_ms) FILTER (WHERE sign < 0) AS removed_max
      FROM (SELECT state, reason, duration_ms, sign, in_start FROM raw UNION ALL SELECT state, reason, duration_ms, sign, in_start FROM pending) x
      GROUP BY 1, 2, 3
    ),
    stats AS (${rollupPieces('job_rollups', scope, [...STATES, 'dur_count', 'dur_sum', 'dur_max', 'hist'])}),
    reasons AS (${rollupPieces('job_rollup_reasons', scope, ['reason', 'n'])}),
    from_rollups AS (
      SELECT ${stateSums('stats')},
        coalesce(sum(dur_count), 0) AS durations, coalesce(sum(dur_sum), 0) AS duration_sum,
        max(dur_max) FILTER (WHERE NOT start_piece) AS duration_max, max(dur_max) FILTER (WHERE start_piece) AS start_max,
        count(*) + (SELECT count(*) FROM reasons) AS n
      FROM stats
    ),
    from_loose AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`coalesce(sum(n) FILTER (WHERE state = ${state}), 0) AS ${sql.identifier([state])}`), sql.fragment`, `)},
        coalesce(sum(durations), 0) AS durations, coalesce(sum(duration_sum), 0) AS duration_sum,
        max(duration_max) AS duration_max, max(start_max) AS start_max, max(removed_max) AS removed_max,
        coalesce(sum(read), 0) AS n
      FROM loose
    ),
    -- Exact percentiles only when the window holds no rollup row: a one-time filter skips the sort
    -- otherwise (a flipped start always brings its rollup row, so no row here has sign −1).
    exact_pct AS (
      SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS raw_pct
      FROM (SELECT duration_ms FROM raw UNION ALL SELECT duration_ms FROM pending) x
      WHERE (SELECT n FROM from_rollups) = 0
    ),
    sums AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`a.${sql.identifier([state])} + b.${sql.identifier([state])} AS ${sql.identifier([state])}`), sql.fragment`, `)},
        a.durations + b.durations AS durations, a.duration_sum + b.duration_sum AS duration_sum,
        greatest(a.duration_max, b.duration_max) AS other_max, greatest(a.start_max, b.start_max) AS start_max,
        b.removed_max, a.n AS rollup_rows, b.n AS raw_rows
      FROM from_rollups a, from_loose b
    ),
    -- The first bucket's max holds for its kept part unless its max row was taken away; then the kept
    -- part's own max is read, and only if it could be the window's.
    totals AS (
      SELECT s.*, greatest(s.other_max, CASE
          WHEN s.start_max IS NULL THEN NULL
          WHEN s.removed_max IS NULL OR s.removed_max < s.start_max THEN s.start_max
          WHEN s.other_max >= s.start_max THEN NULL
          ELSE (SELECT max(k.duration_ms) FROM job_execution_summaries k, ending p
                WHERE k.inserted_at > p.t_from AND k.inserted_at < p.m1 ${scope.rows('k')})
        END) AS duration_max
      FROM sums s
    ),
    reason_counts AS (
      SELECT reason, sum(n) AS n FROM (
        SELECT reason, n FROM reasons
        UNION ALL SELECT reason, n FROM loose WHERE state = 'cancelled'
      ) x GROUP BY reason
    ),
    bins AS (
      SELECT bin, sum(n) AS n FROM (
        SELECT u.bin, u.n FROM stats, unnest(stats.hist[:][1:1], stats.hist[:][2:2]) AS u (bin, n)
        UNION ALL SELECT bin, durations FROM loose WHERE bin IS NOT NULL
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
      (SELECT raw_pct FROM exact_pct) AS raw_pct,
      t.rollup_rows::bigint AS rollup_rows, t.raw_rows::bigint AS raw_rows,
      CASE WHEN p.start_pruned THEN p.horizon END AS horizon,
      CASE WHEN p.start_pruned THEN (SELECT min(s.inserted_at) FROM job_execution_summaries s WHERE true ${scope.rows('s')}) END AS earliest_raw_row,
      CASE WHEN p.start_pruned THEN p.m1 ELSE p.t_from END AS counted_from,
      CASE WHEN p.end_pruned THEN p.m2 ELSE p.t_to END AS counted_to
    FROM ending p, totals t
  `;
}
