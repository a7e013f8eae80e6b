import { sql, type FragmentSqlToken } from 'slonik';
import type { scopeOf } from '../scope.ts';
import { MINUTE_READ_HOURS, TEN_SECONDS_READ_HOURS } from './rollup-upserts.ts';
import { rowExecutions } from './row-executions.ts';

/**
 * Below this many rows in a window's first or last bucket its raw part is read as it is: a few
 * hundred rows cost less than a histogram, and the answer keeps exact percentiles where it had them.
 */
export const FLIP_MIN_ROWS = 1000;

type Scope = ReturnType<typeof scopeOf>;

/**
 * The window (t_from, t_to] cut into disjoint pieces, so each row is counted exactly once and no
 * piece read from raw rows grows with the rate:
 * - raw rows of (t_from, x1): under a minute when the window starts within the minute rollups'
 *   reach (MINUTE_READ_HOURS), else under an hour (old hours hold what a year spreads there); under
 *   ten seconds (`ten_start`) when it starts within TEN_SECONDS_READ_HOURS in a minute of
 *   FLIP_MIN_ROWS rows or more whose ten-second rows sum to it (rollup-upserts.ts), and then the
 *   ten-second rows of [x1, m1) follow; else x1 = m1. When t_from lies in the first half of that
 *   bucket [s0, x1) and the bucket holds FLIP_MIN_ROWS rows or more (`flip`), the piece is the
 *   bucket's rollup row minus the raw rows of [s0, t_from] instead (`sign` −1): a raw read then
 *   covers at most half the bucket. Counts, sums and histograms subtract; a max does not, so
 *   rollup-metrics-query.ts reads the kept part's max only when the bucket's max row was among those
 *   taken away and could be the window's max;
 * - rollup rows of whole minutes, hours, days and months in between, nested: hours [hl, hh) inside
 *   the minutes [m1, m2), days [dl, dh) inside the hours, months [ml, mh) inside the days (an empty
 *   range sits at its parent's end); `top` ('hour', 'day' or 'month', a parameter) is the coarsest
 *   grain used, so a time series gets pieces that each fall in one of its buckets;
 * - the bucket holding t_to, [m2, e1) of grain `eg`: its rollup row when none of its rows lies after
 *   t_to (`latest`, or no row at all), else its raw rows up to t_to. Rows after t_to are
 *   future-stamped ones when the window ends now(), or the rest of the bucket for an earlier end:
 *   the bucket is flipped (`end_flip`: its rollup row minus the raw rows of (t_to, e1)) when it holds
 *   FLIP_MIN_ROWS rows or more and t_to lies in its second half. By position, not by now(): future
 *   rows are few from a clock a little ahead, but as dense as the past from one far ahead;
 * - rows still pending a fold inside the rollup pieces, read like raw rows.
 *
 * Before the retention `horizon` (retention/horizon.ts) raw rows may be gone: an end there is
 * counted at the hour rollups' granularity, the window starting (or ending) at the start of its UTC
 * hour (`start_pruned`, `end_pruned`), the same before and after pruning.
 *
 * The CTEs end in `ending` (one row: the bounds, the boundaries, `ten_start`, `whole_end`, `flip`,
 * `end_flip`).
 */
export function windowSpans(
  tTo: FragmentSqlToken,
  tFrom: FragmentSqlToken,
  top: string,
  scope: Scope,
  horizon: FragmentSqlToken = sql.fragment`NULL::timestamptz`,
): FragmentSqlToken {
  // bounds and b2 are MATERIALIZED: inlined, every CTE after them copied their expressions into
  // each use, the horizon's subquery with them (58 subplans). Computed once, the rollup query's
  // plan has 386 nodes instead of 744, and a read takes 0.5–1 ms less (docs/BENCHMARKS.md).
  return sql.fragment`
    bounds AS MATERIALIZED (SELECT ${tTo} AS t_to, ${tFrom} AS t_from, ${top}::text AS top, ${horizon} AS horizon),
    b0 AS (
      SELECT *, coalesce(t_from < horizon, false) AS start_pruned, coalesce(t_to < horizon, false) AS end_pruned FROM bounds
    ),
    b1 AS (
      SELECT *,
        NOT start_pruned AND t_from >= now() - make_interval(hours => ${MINUTE_READ_HOURS}) AS fine_start,
        NOT end_pruned AND t_to >= now() - make_interval(hours => ${MINUTE_READ_HOURS}) AS fine_end,
        date_trunc('hour', t_from, 'UTC') + CASE WHEN start_pruned THEN interval '0' ELSE interval '1 hour' END AS h1,
        date_trunc('hour', t_to, 'UTC') AS h2
      FROM b0
    ),
    b2 AS MATERIALIZED (
      SELECT *,
        CASE WHEN fine_start THEN date_trunc('minute', t_from, 'UTC') + interval '1 minute' ELSE h1 END AS m1,
        CASE WHEN fine_end THEN date_trunc('minute', t_to, 'UTC') ELSE h2 END AS m2,
        CASE WHEN date_trunc('day', h1, 'UTC') = h1 THEN h1 ELSE date_trunc('day', h1, 'UTC') + interval '24 hours' END AS d1,
        date_trunc('day', h2, 'UTC') AS d2
      FROM b1
    ),
    -- Ten seconds at the start only where a minute's raw rows would cost more than its ten-second
    -- rows (FLIP_MIN_ROWS), and only if those hold every row of the minute: the writers skip rows
    -- older than their keep, and UPDATE/DELETE drop a minute's (rollup-upserts.ts). Materialized
    -- like b2, so its subqueries run once.
    b2t AS MATERIALIZED (
      SELECT b.*, b.fine_start AND b.t_from >= now() - make_interval(hours => ${TEN_SECONDS_READ_HOURS}) AND coalesce(
        (SELECT ${rowExecutions('m')} >= ${FLIP_MIN_ROWS}
            AND ${rowExecutions('m')} = (
              SELECT coalesce(sum(${rowExecutions('t')}), 0) FROM job_rollups t
              WHERE t.grain = 'ten_seconds' AND ${scope.rollups('t')} AND t.bucket >= m.bucket AND t.bucket < b.m1)
         FROM job_rollups m WHERE m.grain = 'minute' AND ${scope.rollups('m')} AND m.bucket = b.m1 - interval '1 minute'),
        false) AS ten_start
      FROM b2 b
    ),
    b3 AS (
      SELECT *,
        CASE WHEN ten_start THEN date_bin('10 seconds', t_from, timestamptz '2000-01-01 00:00:00+00') + interval '10 seconds' ELSE m1 END AS x1,
        CASE WHEN date_trunc('month', d1, 'UTC') = d1 THEN d1
             ELSE date_trunc('month', date_trunc('month', d1, 'UTC') + interval '768 hours', 'UTC') END AS mo1,
        date_trunc('month', d2, 'UTC') AS mo2,
        CASE WHEN fine_end THEN 'minute' ELSE 'hour' END AS eg
      FROM b2t
    ),
    b4 AS (
      SELECT *, CASE WHEN h1 < h2 THEN h1 ELSE m2 END AS hl, CASE WHEN h1 < h2 THEN h2 ELSE m2 END AS hh FROM b3
    ),
    b5 AS (
      SELECT *,
        CASE WHEN top <> 'hour' AND h1 < h2 AND d1 < d2 THEN d1 ELSE hh END AS dl,
        CASE WHEN top <> 'hour' AND h1 < h2 AND d1 < d2 THEN d2 ELSE hh END AS dh
      FROM b4
    ),
    spans AS (
      SELECT *,
        CASE WHEN top = 'month' AND dl < dh AND mo1 < mo2 THEN mo1 ELSE dh END AS ml,
        CASE WHEN top = 'month' AND dl < dh AND mo1 < mo2 THEN mo2 ELSE dh END AS mh
      FROM b5
    ),
    starts AS (
      SELECT *,
        CASE WHEN ten_start THEN 'ten_seconds' WHEN fine_start THEN 'minute' ELSE 'hour' END AS sg,
        x1 - CASE WHEN ten_start THEN interval '10 seconds' WHEN fine_start THEN interval '1 minute' ELSE interval '1 hour' END AS s0,
        m2 + CASE WHEN eg = 'minute' THEN interval '1 minute' ELSE interval '1 hour' END AS e1
      FROM spans
    ),
    edges AS (
      SELECT p.*, NOT p.end_pruned AND coalesce(
        (SELECT coalesce(e.latest <= p.t_to, false) FROM job_rollups e WHERE e.grain = p.eg AND ${scope.rollups('e')} AND e.bucket = p.m2),
        true) AS whole_end,
        NOT p.start_pruned AND coalesce(p.s0 >= p.horizon, true) AND p.t_from - p.s0 < p.x1 - p.t_from
          AND ${denseBucket(scope, 'sg', 's0')} AS flip
      FROM starts p
    ),
    ending AS (
      SELECT p.*, NOT p.whole_end AND NOT p.end_pruned AND p.e1 - p.t_to < p.t_to - p.m2
        AND ${denseBucket(scope, 'eg', 'm2')} AS end_flip
      FROM edges p
    )`;
}

/** Whether the rollup row of the bucket in the columns `grain` and `bucket` of `p` holds FLIP_MIN_ROWS rows or more. */
const denseBucket = (scope: Scope, grain: string, bucket: string) => sql.fragment`coalesce(
  (SELECT ${rowExecutions('f')} >= ${FLIP_MIN_ROWS}
   FROM job_rollups f WHERE f.grain = ${sql.identifier(['p', grain])} AND ${scope.rollups('f')} AND f.bucket = ${sql.identifier(['p', bucket])}),
  false)`;

/**
 * The rollup rows of the pieces, from `job_rollups` or `job_rollup_reasons` (needs `ending`), with
 * the columns asked for (a histogram is only decompressed where it is used). The ten-second piece
 * names its grain through `ending` (`sg`), not as a literal: the fold's partial index on ten-second
 * reasons then cannot serve it. With the literal, statistics from before any ten-second row existed
 * made the planner scan that whole index for every read: +30 ms a read at 50k ten-second reasons.
 */
export function rollupPieces(name: 'job_rollups' | 'job_rollup_reasons', scope: Scope, columns: readonly string[]): FragmentSqlToken {
  const table = sql.identifier([name]);
  const selected = sql.join(columns.map((column) => sql.identifier(['t', column])), sql.fragment`, `);
  const piece = (grain: string, from: string, to: string) =>
    sql.fragment`SELECT ${selected}, 0 AS piece FROM ${table} t, ending p
      WHERE t.grain = ${sql.literalValue(grain)} AND ${scope.rollups('t')} AND t.bucket >= p.${sql.identifier([from])} AND t.bucket < p.${sql.identifier([to])}`;
  return sql.fragment`
    ${piece('month', 'ml', 'mh')}
    UNION ALL ${piece('day', 'dl', 'ml')} UNION ALL ${piece('day', 'mh', 'dh')}
    UNION ALL ${piece('hour', 'hl', 'dl')} UNION ALL ${piece('hour', 'dh', 'hh')}
    UNION ALL ${piece('minute', 'm1', 'hl')} UNION ALL ${piece('minute', 'hh', 'm2')}
    UNION ALL SELECT ${selected}, 0 FROM ${table} t, ending p
      WHERE p.ten_start AND t.grain = p.sg AND ${scope.rollups('t')} AND t.bucket >= p.x1 AND t.bucket < p.m1
    UNION ALL SELECT ${selected}, CASE WHEN p.whole_end THEN 0 ELSE 2 END FROM ${table} t, ending p
      WHERE (p.whole_end OR p.end_flip) AND t.grain = p.eg AND ${scope.rollups('t')} AND t.bucket = p.m2
    UNION ALL SELECT ${selected}, 1 FROM ${table} t, ending p WHERE p.flip AND t.grain = p.sg AND ${scope.rollups('t')} AND t.bucket = p.s0`;
}

/**
 * Raw rows of the two edges (inserted_at, state, reason, duration_ms, bin, sign, part); pending rows
 * there are among them. `part` 1 or 2: in the flipped first or last bucket. Under `flip` the start's
 * rows are those of [s0, t_from], under `end_flip` the end's are those of (t_to, e1), to subtract.
 */
export function edgeRows(scope: Scope): FragmentSqlToken {
  const fields = sql.fragment`s.inserted_at, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms, job_rollup_bin(s.duration_ms) AS bin`;
  return sql.fragment`
    SELECT ${fields}, 1 AS sign, 0 AS part FROM job_execution_summaries s, ending p
    WHERE NOT p.flip AND s.inserted_at > p.t_from AND s.inserted_at < p.x1 AND s.inserted_at <= p.t_to ${scope.rows('s')}
    UNION ALL
    SELECT ${fields}, -1, 1 FROM job_execution_summaries s, ending p
    WHERE p.flip AND s.inserted_at >= p.s0 AND s.inserted_at <= p.t_from ${scope.rows('s')}
    UNION ALL
    SELECT ${fields}, 1, 0 FROM job_execution_summaries s, ending p
    WHERE NOT p.whole_end AND NOT p.end_pruned AND NOT p.end_flip
      AND s.inserted_at >= p.m2 AND s.inserted_at <= p.t_to AND s.inserted_at > p.t_from ${scope.rows('s')}
    UNION ALL
    SELECT ${fields}, -1, 2 FROM job_execution_summaries s, ending p
    WHERE p.end_flip AND s.inserted_at > p.t_to AND s.inserted_at < p.e1 ${scope.rows('s')}`;
}

/**
 * Inserted rows of the rollup pieces not folded yet, read like raw rows (rollup-upserts.ts), with the
 * columns of `edgeRows`: all of a flipped bucket's, taken away with the raw rows outside the window.
 * Their bin was stored as they were appended (migration 1764060000000). Joined with `ending` row
 * by row on purpose: comparing with its values as subqueries costs 6 % less a row, but lets the
 * planner scan in parallel and sort to group, and a big worker's read took 50 % longer (1M pending).
 */
export function pendingRows(scope: Scope): FragmentSqlToken {
  return sql.fragment`
    SELECT q.inserted_at, q.state, q.reason, q.duration_ms, q.bin, 1 AS sign,
      CASE WHEN p.flip AND q.inserted_at < p.x1 THEN 1 WHEN p.end_flip AND q.inserted_at >= p.m2 THEN 2 ELSE 0 END AS part
    FROM job_rollup_pending q, ending p
    WHERE q.inserted_at >= CASE WHEN p.flip THEN p.s0 ELSE p.x1 END
      AND (q.inserted_at < p.m2 OR (p.whole_end AND q.inserted_at <= p.t_to) OR (p.end_flip AND q.inserted_at < p.e1)) ${scope.rows('q')}`;
}
