import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { STATES } from '../../schemas/common.ts';
import { WindowMetricsRow } from '../window-metrics-query.ts';
import { scopeOf } from '../scope.ts';
import { edgeRows, pendingRows, rollupPieces, windowSpans } from './window-pieces.ts';
import { horizonSql } from '../../retention/horizon.ts';
import { EXACT_MAX_ROWS } from '../../config.ts';
import { WindowSizeRow, windowSizeSelect } from './window-size-query.ts';
import { rowExecutions } from './row-executions.ts';
import { reasonListColumns } from '../reason-list.ts';

/** The raw query's row, with the histogram instead of percentiles, and what was read. */
export const RollupMetricsRow = WindowMetricsRow.omit({ duration_pct: true }).extend({
  /** Signed [bin, count] pairs of the raw edges' and pending rows' durations (see histogram.ts). */
  histogram: z.array(z.tuple([z.number().int(), z.number().int()])),
  /**
   * The rollup rows read that hold durations, as [`ctid/xmin`, histogram]: the histogram is
   * `array_to_json(hist)`, or null for a version the caller said it holds (histogram-cache.ts).
   */
  pieces: z.array(z.tuple([z.string(), z.string().nullable()])),
  /**
   * percentile_cont over the raw and pending rows, computed only when no rollup row was used and
   * they are at most `exactPercentileRows` (`percentiles_exact`).
   */
  raw_pct: z.array(z.number()).nullable(),
  percentiles_exact: z.boolean(),
  rollup_rows: z.number().int(),
  raw_rows: z.number().int(),
  /** Set only when the window reaches before the retention horizon (window-pieces.ts). */
  horizon: z.string().nullable(),
  earliest_raw_row: z.string().nullable(),
  counted_from: z.string(),
  counted_to: z.string(),
  /**
   * window-size-query.ts's answer for the window of `hours` ending now() (whatever the offset), so a
   * caller that expected a large window learns in the same statement whether it still is. Asked on
   * every read (≈ 0.3 ms) rather than in a second statement: each statement name is planned again on
   * every new connection, ≈ 100 ms the first time (docs/BENCHMARKS.md).
   */
  size: WindowSizeRow,
});
export type RollupMetricsRow = z.infer<typeof RollupMetricsRow>;

/** max(column) of each part 0, 1 and 2 (see `loose`) as max_0, max_1, max_2. */
const partMaxima = (column: string, part: string, where: FragmentSqlToken) =>
  sql.join(
    [0, 1, 2].map((n) => sql.fragment`max(${sql.identifier([column])}) FILTER (WHERE ${where} AND ${sql.identifier([part])} = ${sql.literalValue(String(n))}::int) AS ${sql.identifier([`max_${n}`])}`),
    sql.fragment`, `,
  );

/**
 * The max of a flipped bucket's part inside the window: the bucket's max unless its max row was
 * taken away; then the kept part's own max is read (rows `kept`), and only if it could be the
 * window's.
 */
const keptMax = (scope: ReturnType<typeof scopeOf>, n: string, kept: FragmentSqlToken) => {
  const [max, removed] = [sql.identifier(['s', `max_${n}`]), sql.identifier(['s', `removed_max_${n}`])];
  return sql.fragment`CASE
      WHEN ${max} IS NULL THEN NULL
      WHEN ${removed} IS NULL OR ${removed} < ${max} THEN ${max}
      WHEN s.other_max >= ${max} THEN NULL
      ELSE (SELECT max(k.duration_ms) FROM job_execution_summaries k, ending p WHERE ${kept} ${scope.rows('k')})
    END`;
};

/**
 * The window (now() − offset − hours, now() − offset] as disjoint pieces (window-pieces.ts): whole
 * months, days, hours and minutes from the rollups, the bucket holding its end when it is whole, and
 * raw rows only for the rest (under a minute at each end, or the part of a dense edge bucket outside
 * the window, taken away). Rows of the rollup pieces still pending a fold are aggregated by (state,
 * reason, bin) on the way, never sorted; percentile_cont runs over the raw and pending rows only
 * when no rollup row was used. A window reaching before the retention
 * horizon says where counting started and ended (whole hours there).
 */
export interface RollupQueryOptions {
  /** `ctid/xmin` of the rollup row versions whose histograms the caller holds (histogram-cache.ts). */
  held?: readonly string[];
  /** The `limit` of the window size asked with it (window-size-query.ts). */
  exactMaxRows?: number;
  /** Beyond this many raw and pending rows percentiles come from their histogram, rollup rows or not. */
  exactPercentileRows?: number;
  /** At most this many reasons in by_reason (reason-list.ts); undefined: every one. */
  reasonsLimit?: number;
}

/**
 * A window no rollup row has reached yet (every row still pending, after an outage say) can hold any
 * number of rows: sorting 350k durations took 40 % of such a read. Past this many, its percentiles
 * come from the histogram the read sums anyway, within the same bound as any rollup answer.
 */
export const EXACT_PERCENTILE_ROWS = 50_000;

export function rollupMetricsQuery(hours: number, offsetHours: number, worker?: string, retentionDays?: number, options: RollupQueryOptions = {}) {
  const { held = [], exactMaxRows = EXACT_MAX_ROWS, exactPercentileRows = EXACT_PERCENTILE_ROWS } = options;
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
    raw AS NOT MATERIALIZED (${edgeRows(scope)}),
    pending AS NOT MATERIALIZED (${pendingRows(scope)}),
    -- The raw edges and the pending rows, summed per (state, reason, bin) with their signs: a few
    -- hundred groups however many rows a burst left pending. Maxima by part (window-pieces.ts): rows
    -- kept outside the flipped buckets (0), and of the first (1) and last (2) bucket, those added
    -- and those taken away. Raw and pending rows are each grouped on their own first, with four
    -- aggregates instead of nine (pending rows by the bin they stored): a read during a backlog of
    -- 1M rows takes a third less than summing all rows with the edges', and a window starting in a
    -- minute of 30k rows 12-25 % less. raw is not materialized: exact_pct's copy of it is skipped
    -- by a one-time filter unless the percentiles are exact.
    loose AS (
      SELECT state, reason, bin, sum(n) AS n, sum(read) AS read,
             coalesce(sum(durations), 0) AS durations, coalesce(sum(duration_sum), 0) AS duration_sum,
             ${partMaxima('mx', 'part', sql.fragment`sign > 0`)},
             max(mx) FILTER (WHERE sign < 0 AND part = 1) AS removed_max_1,
             max(mx) FILTER (WHERE sign < 0 AND part = 2) AS removed_max_2
      FROM (
        SELECT state, reason, bin, sign * count(*) AS n, count(*) AS read, sign * count(duration_ms) AS durations,
               sign * sum(duration_ms::bigint) AS duration_sum, max(duration_ms) AS mx, sign, part
        FROM raw GROUP BY 1, 2, 3, sign, part
        UNION ALL
        SELECT state, reason, bin, count(*), count(*), count(duration_ms), sum(duration_ms::bigint),
               max(duration_ms), 1, part
        FROM pending GROUP BY 1, 2, 3, part
      ) x
      GROUP BY 1, 2, 3
    ),
    stats AS (${rollupPieces('job_rollups', scope, [...STATES, 'dur_count', 'dur_sum', 'dur_max', 'hist', 'ctid', 'xmin'])}),
    reasons AS (${rollupPieces('job_rollup_reasons', scope, ['reason', 'n'])}),
    from_rollups AS (
      SELECT ${stateSums('stats')},
        coalesce(sum(dur_count), 0) AS durations, coalesce(sum(dur_sum), 0) AS duration_sum,
        ${partMaxima('dur_max', 'piece', sql.fragment`true`)},
        count(*) + (SELECT count(*) FROM reasons) AS n
      FROM stats
    ),
    from_loose AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`coalesce(sum(n) FILTER (WHERE state = ${state}), 0) AS ${sql.identifier([state])}`), sql.fragment`, `)},
        coalesce(sum(durations), 0) AS durations, coalesce(sum(duration_sum), 0) AS duration_sum,
        max(max_0) AS max_0, max(max_1) AS max_1, max(max_2) AS max_2,
        max(removed_max_1) AS removed_max_1, max(removed_max_2) AS removed_max_2,
        coalesce(sum(read), 0) AS n
      FROM loose
    ),
    -- Exact percentiles only when the window holds no rollup row and few enough loose rows: a
    -- one-time filter skips the sort otherwise (a flipped bucket always brings its rollup row, so no
    -- row here has sign -1).
    pct_exact AS (
      SELECT (SELECT n FROM from_rollups) = 0 AND (SELECT n FROM from_loose) <= ${exactPercentileRows} AS exact
    ),
    exact_pct AS (
      SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS raw_pct
      FROM (SELECT duration_ms FROM raw UNION ALL SELECT duration_ms FROM pending) x
      WHERE (SELECT exact FROM pct_exact)
    ),
    sums AS (
      SELECT ${sql.join(STATES.map((state) => sql.fragment`a.${sql.identifier([state])} + b.${sql.identifier([state])} AS ${sql.identifier([state])}`), sql.fragment`, `)},
        a.durations + b.durations AS durations, a.duration_sum + b.duration_sum AS duration_sum,
        greatest(a.max_0, b.max_0) AS other_max, greatest(a.max_1, b.max_1) AS max_1, greatest(a.max_2, b.max_2) AS max_2,
        b.removed_max_1, b.removed_max_2, a.n AS rollup_rows, b.n AS raw_rows
      FROM from_rollups a, from_loose b
    ),
    totals AS (
      SELECT s.*, greatest(s.other_max,
        ${keptMax(scope, '1', sql.fragment`k.inserted_at > p.t_from AND k.inserted_at < p.x1 AND k.inserted_at <= p.t_to`)},
        ${keptMax(scope, '2', sql.fragment`k.inserted_at >= p.m2 AND k.inserted_at <= p.t_to AND k.inserted_at > p.t_from`)}) AS duration_max
      FROM sums s
    ),
    reason_counts AS (
      SELECT reason, sum(n) AS n FROM (
        SELECT reason, n FROM reasons
        UNION ALL SELECT reason, n FROM loose WHERE state = 'cancelled'
      ) x GROUP BY reason
    ),
    recorded AS (
      SELECT reason, n::bigint AS n FROM reason_counts WHERE reason IS NOT NULL AND n > 0
    ),
    bins AS (
      SELECT bin, sum(durations) AS n FROM loose WHERE bin IS NOT NULL GROUP BY bin HAVING sum(durations) <> 0
    ),
    -- The rollup rows' histograms are summed by the caller, which holds most of them already: 70 %
    -- of a year window's time went to unnesting and summing them here (histogram-cache.ts).
    versions AS (
      SELECT ctid::text || '/' || xmin::text AS key, hist FROM stats WHERE dur_count > 0
    )
    SELECT
      p.t_from AS window_from, p.t_to AS window_to,
      ${rowExecutions('t')}::bigint AS executions,
      t.completed::bigint AS completed, t.retryable::bigint AS retryable, t.discarded::bigint AS discarded,
      t.cancelled::bigint AS cancelled, t.snoozed::bigint AS snoozed,
      coalesce((SELECT n FROM reason_counts WHERE reason IS NULL), 0)::bigint AS unknown_reasons,
      ${reasonListColumns('recorded', options.reasonsLimit ?? null)},
      t.durations::bigint AS durations,
      CASE WHEN t.durations > 0 THEN (t.duration_sum::numeric / t.durations)::float8 END AS duration_avg,
      t.duration_max,
      (SELECT coalesce(json_agg(json_build_array(bin, n) ORDER BY bin), '[]') FROM bins) AS histogram,
      (SELECT coalesce(json_agg(json_build_array(key, CASE WHEN key = ANY(${sql.array(held, 'text')}) THEN NULL ELSE array_to_json(hist)::text END)), '[]')
         FROM versions) AS pieces,
      (SELECT raw_pct FROM exact_pct) AS raw_pct, (SELECT exact FROM pct_exact) AS percentiles_exact,
      t.rollup_rows::bigint AS rollup_rows, t.raw_rows::bigint AS raw_rows,
      CASE WHEN p.start_pruned THEN p.horizon END AS horizon,
      CASE WHEN p.start_pruned THEN (SELECT min(s.inserted_at) FROM job_execution_summaries s WHERE true ${scope.rows('s')}) END AS earliest_raw_row,
      CASE WHEN p.start_pruned THEN p.m1 ELSE p.t_from END AS counted_from,
      CASE WHEN p.end_pruned THEN p.m2 ELSE p.t_to END AS counted_to,
      (SELECT row_to_json(z) FROM (${windowSizeSelect(hours, exactMaxRows, worker, retentionDays)}) z) AS size
    FROM ending p, totals t
  `;
}
