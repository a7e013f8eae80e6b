import { sql } from 'slonik';
import { z } from 'zod';

/** The reason columns of a window's row: the list, and what a limit on it left out. */
export const reasonListShape = {
  by_reason: z.array(z.object({ reason: z.string(), count: z.number().int() })),
  other_reasons: z.object({ count: z.number().int(), reasons: z.number().int() }),
};

/**
 * `by_reason` and `other_reasons` from `recorded`, a CTE of (reason, n) with every recorded reason
 * of the window once, n > 0. `limit` null lists every reason (LIMIT NULL is no limit) and leaves
 * the second sort, the one that sums what the limit cut, unevaluated: it sits in a CASE branch.
 * With reasons that embed ids, a day can hold 200,000 of them: 9.5 MB of JSON and 1.5-3 s a read
 * (docs/BENCHMARKS.md), which is why a caller may ask for the largest few.
 */
export function reasonListColumns(recorded: string, limit: number | null) {
  const from = sql.identifier([recorded]);
  const top = sql.fragment`SELECT reason, n FROM ${from} ORDER BY n DESC, reason COLLATE "C" LIMIT ${limit}::int`;
  return sql.fragment`
    (SELECT coalesce(json_agg(json_build_object('reason', reason, 'count', n) ORDER BY n DESC, reason COLLATE "C"), '[]')
       FROM (${top}) top) AS by_reason,
    (SELECT CASE WHEN ${limit}::int IS NULL OR count(*) <= ${limit}::int THEN json_build_object('count', 0, 'reasons', 0)
       ELSE json_build_object('count', sum(n) - coalesce((SELECT sum(n) FROM (${top}) top), 0), 'reasons', count(*) - ${limit}::int) END
       FROM ${from}) AS other_reasons`;
}
