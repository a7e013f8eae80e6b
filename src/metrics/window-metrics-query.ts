import { sql } from 'slonik';
import { z } from 'zod';
import { stateCountsColumns, stateCountsShape } from './state-counts.ts';
import { scopeOf } from './scope.ts';
import { reasonListColumns, reasonListShape } from './reason-list.ts';

/** One row that answers "what happened in the window?", read in a single statement (one snapshot, one now()). */
export const WindowMetricsRow = z.object({
  window_from: z.string(),
  window_to: z.string(),
  ...stateCountsShape,
  ...reasonListShape,
  durations: z.number().int(),
  duration_avg: z.number().nullable(),
  duration_pct: z.array(z.number()).nullable(),
  duration_max: z.number().int().nullable(),
});
export type WindowMetricsRow = z.infer<typeof WindowMetricsRow>;

/**
 * The window is (now() - hours, now()]. The cancel reason is `results ->> 'cancel_reason'`, and its
 * NULL branch is written out: a NULL reason is counted as unknown, never dropped by an `=`.
 */
export function windowMetricsQuery(hours: number, worker?: string, reasonsLimit: number | null = null) {
  const scope = scopeOf(worker);
  return sql.prepared(`window_exact_${scope.name}`, WindowMetricsRow)`
    WITH bounds AS (
      SELECT now() AS window_to, now() - make_interval(hours => ${hours}) AS window_from
    ),
    scoped AS (
      SELECT s.state, s.results ->> 'cancel_reason' AS reason, s.duration_ms
      FROM job_execution_summaries s
      -- The bounds written out rather than joined from \`bounds\`: now() is fixed for the statement
      -- either way, but only this form lets the planner estimate the window (index for a day, a
      -- sequential scan for a year) instead of guessing a third of the table.
      WHERE s.inserted_at > now() - make_interval(hours => ${hours}) AND s.inserted_at <= now() ${scope.rows('s')}
    ),
    reasons AS (
      SELECT reason, count(*) AS n
      FROM scoped
      WHERE state = 'cancelled' AND reason IS NOT NULL
      GROUP BY reason
    ),
    totals AS (
      SELECT
        ${stateCountsColumns},
        count(duration_ms) AS durations,
        avg(duration_ms)::float8 AS duration_avg,
        percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS duration_pct,
        max(duration_ms) AS duration_max
      FROM scoped
    )
    SELECT
      b.window_from,
      b.window_to,
      t.*,
      ${reasonListColumns('reasons', reasonsLimit)}
    FROM bounds b, totals t
  `;
}
