import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { STATES } from '../../schemas/common.ts';
import { DURATION_BUCKETS } from './duration-buckets.ts';

const count = z.number().int().nonnegative();

export const WorkerCountersRow = z.object({
  worker: z.string(),
  completed: count,
  retryable: count,
  discarded: count,
  cancelled: count,
  snoozed: count,
  durations: count,
  duration_sum_ms: count,
  unknown_reasons: count,
  /** The largest recorded reasons, count descending then reason in code-point order. */
  top_reasons: z.array(z.tuple([z.string(), count])),
  other_reasons: count,
  /** Distinct recorded reasons ranked for the worker (the chosen ones in `rankedCountersQuery`): the ranking's size. */
  ranked_reasons: count,
  /** [k, n]: n durations above bucket k's `le` (k ≥ 1) and within bucket k + 1's (k = buckets: above every `le`). */
  buckets: z.array(z.tuple([z.number().int(), count])),
});
export type WorkerCounters = z.infer<typeof WorkerCountersRow>;

/** width_bucket(bin, edges) = k means bin lies above bucket k's last bin and within bucket k + 1's. */
const BUCKET_EDGES = `{${DURATION_BUCKETS.map((b) => b.bin + 1).join(',')}}`;

const sumOf = (columns: readonly string[]) => sql.join(columns.map((c) => sql.fragment`sum(${sql.identifier([c])})::bigint AS ${sql.identifier([c])}`), sql.fragment`, `);

/** The month rollups' state counts plus the pending rows', per worker. */
const countsSql = sql.fragment`
  counts AS (
    SELECT worker, ${sumOf([...STATES, 'durations', 'duration_sum_ms'])}
    FROM (
      SELECT worker, ${sql.join(STATES.map((s) => sql.identifier([s])), sql.fragment`, `)}, dur_count AS durations, dur_sum AS duration_sum_ms
      FROM job_rollups WHERE grain = 'month' AND worker IS NOT NULL
      UNION ALL
      SELECT worker, ${sql.join(STATES.map((s) => sql.fragment`count(*) FILTER (WHERE state = ${s})`), sql.fragment`, `)},
        count(duration_ms), coalesce(sum(duration_ms), 0)
      FROM pending GROUP BY worker
    ) x
    GROUP BY worker
  )`;

/** The histograms of the month rollups and the pending rows, per worker and Prometheus bucket. */
const bucketsSql = sql.fragment`
  bins AS (
    SELECT worker, width_bucket(bin, ${BUCKET_EDGES}::integer[]) AS k, sum(n) AS n FROM (
      SELECT r.worker, u.bin, u.n
      FROM job_rollups r, unnest(r.hist[:][1:1], r.hist[:][2:2]) AS u (bin, n)
      WHERE r.grain = 'month' AND r.worker IS NOT NULL
      UNION ALL
      SELECT worker, bin, 1 FROM pending WHERE duration_ms IS NOT NULL
    ) x
    GROUP BY 1, 2 HAVING sum(n) <> 0
  ),
  buckets AS (SELECT worker, json_agg(json_build_array(k, n) ORDER BY k) AS buckets FROM bins GROUP BY worker)`;

const hasRows = sql.join(STATES.map((s) => sql.fragment`c.${sql.identifier([s])}`), sql.fragment` + `);

/** Each worker with rows, from `counts`, `unknowns`, `by_reason` and `buckets`; `other` its other_reasons. */
const answerSql = (other: FragmentSqlToken) => sql.fragment`
  SELECT c.*,
    coalesce(u.n, 0)::bigint AS unknown_reasons,
    coalesce(r.top_reasons, '[]') AS top_reasons,
    ${other} AS other_reasons,
    coalesce(r.ranked_reasons, 0) AS ranked_reasons,
    coalesce(b.buckets, '[]') AS buckets
  FROM counts c
  LEFT JOIN unknowns u ON u.worker = c.worker
  LEFT JOIN by_reason r ON r.worker = c.worker
  LEFT JOIN buckets b ON b.worker = c.worker
  WHERE ${hasRows} > 0
  ORDER BY c.worker COLLATE "C"`;

/**
 * Every execution ever recorded, per worker: the month rollups plus the rows not folded yet, read in
 * one statement (one snapshot), so a fold moving rows between the two never counts a row twice or
 * not at all, and the cancelled count equals the reasons' sum in every answer. No raw row is read.
 * Each worker's reasons are ranked here over every month: with cancel reasons that embed ids that
 * is a row per reason and month to group and sort, 5.3 s a scrape at 1M reasons over five months
 * (see `rankedCountersQuery` for what the scrape does then).
 */
export const workerCountersQuery = (maxReasons: number) => sql.prepared('prometheus_counters', WorkerCountersRow)`
  WITH pending AS MATERIALIZED (SELECT worker, state, reason, duration_ms, bin FROM job_rollup_pending),
  ${countsSql},
  reasons AS (
    SELECT worker, reason, sum(n) AS n FROM (
      SELECT worker, reason, n FROM job_rollup_reasons WHERE grain = 'month' AND worker IS NOT NULL
      UNION ALL
      SELECT worker, reason, count(*) FROM pending WHERE state = 'cancelled' GROUP BY worker, reason
    ) x
    GROUP BY worker, reason HAVING sum(n) <> 0
  ),
  unknowns AS MATERIALIZED (SELECT worker, n FROM reasons WHERE reason IS NULL),
  ranked AS (
    SELECT worker, reason, n, row_number() OVER (PARTITION BY worker ORDER BY n DESC, reason COLLATE "C") AS rank
    FROM reasons WHERE reason IS NOT NULL
  ),
  by_reason AS (
    SELECT worker,
      coalesce(json_agg(json_build_array(reason, n) ORDER BY rank) FILTER (WHERE rank <= ${maxReasons}), '[]') AS top_reasons,
      coalesce(sum(n) FILTER (WHERE rank > ${maxReasons}), 0)::bigint AS other_reasons,
      count(*) AS ranked_reasons
    FROM ranked GROUP BY worker
  ),
  ${bucketsSql}
  ${answerSql(sql.fragment`coalesce(r.other_reasons, 0)`)}
`;

/** A worker's reason chosen by an earlier ranking to have a series of its own. */
export interface RankedReason {
  worker: string;
  reason: string;
}

/**
 * The same answer for reasons ranked earlier (`ranked`, from `workerCountersQuery`): their counts
 * now, found by index in each month of their worker (a few probes each, not a row per reason and
 * month), the NULL reason's likewise, and the rest of the cancelled rows as `other_reasons`. Still
 * one snapshot and exact: cancelled = listed + other + unknown. A reason that has grown into the
 * largest since the ranking is counted in `other_reasons` until the next one.
 */
export const rankedCountersQuery = (ranked: readonly RankedReason[]) => sql.prepared('prometheus_counters_ranked', WorkerCountersRow)`
  WITH pending AS MATERIALIZED (SELECT worker, state, reason, duration_ms, bin FROM job_rollup_pending),
  ${countsSql},
  months AS (SELECT worker, bucket FROM job_rollups WHERE grain = 'month' AND worker IS NOT NULL),
  chosen AS (
    SELECT worker, reason FROM unnest(${sql.array(ranked.map((r) => r.worker), 'text')}, ${sql.array(ranked.map((r) => r.reason), 'text')}) AS m (worker, reason)
  ),
  -- One row per chosen reason and month of its worker, its key computed: each is then one index probe.
  -- Joined to the months inside the probe instead, the key stayed a filter over every reason of the
  -- month (PostgreSQL 18 planned no index condition for it): 50 s a scrape at 1M reasons.
  probes AS MATERIALIZED (
    SELECT m.worker, m.reason, job_rollup_reason_key(m.reason) AS key, b.bucket FROM chosen m JOIN months b ON b.worker = m.worker
  ),
  listed AS (
    SELECT worker, reason, sum(n) AS n FROM (
      SELECT p.worker, p.reason, r.n FROM probes p
      JOIN job_rollup_reasons r ON r.grain = 'month' AND r.worker = p.worker AND r.bucket = p.bucket AND job_rollup_reason_key(r.reason) = p.key
      UNION ALL
      SELECT p.worker, p.reason, 1 FROM pending p JOIN chosen m ON m.worker = p.worker AND m.reason = p.reason
      WHERE p.state = 'cancelled'
    ) x
    GROUP BY worker, reason HAVING sum(n) <> 0
  ),
  unknowns AS (
    SELECT worker, sum(n) AS n FROM (
      SELECT r.worker, r.n FROM months b
      JOIN job_rollup_reasons r ON r.grain = 'month' AND r.worker = b.worker AND r.bucket = b.bucket
        AND job_rollup_reason_key(r.reason) IS NULL
      UNION ALL
      SELECT worker, 1 FROM pending WHERE state = 'cancelled' AND reason IS NULL
    ) x
    GROUP BY worker
  ),
  by_reason AS (
    SELECT worker, json_agg(json_build_array(reason, n) ORDER BY n DESC, reason COLLATE "C") AS top_reasons, sum(n) AS n,
      count(*) AS ranked_reasons
    FROM listed GROUP BY worker
  ),
  ${bucketsSql}
  ${answerSql(sql.fragment`(c.cancelled - coalesce(u.n, 0) - coalesce(r.n, 0))::bigint`)}
`;

/** Rows inserted but not folded into the rollups yet: the fold backlog. */
export const pendingRowsQuery = () => sql.type(z.object({ rows: count }))`SELECT count(*) AS rows FROM job_rollup_pending`;
