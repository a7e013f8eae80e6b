import { sql } from 'slonik';
import { z } from 'zod';
import { matchAttemptsCte } from './match-attempts.ts';
import type { Band } from './band.ts';

export const ThresholdCountsRow = z.object({
  window_from: z.string(),
  window_to: z.string(),
  attempts: z.number().int(),
  matched: z.number().int(),
  in_band: z.number().int(),
  at_from: z.number().int(),
  invalid_confidence: z.number().int(),
});
export type ThresholdCountsRow = z.infer<typeof ThresholdCountsRow>;

/**
 * How many match attempts would lowering the threshold from `to` to `from` add? `matched` counts
 * confidence ≥ to (matched today), `in_band` from ≤ confidence < to (matched after the change; none
 * when from ≥ to), `at_from` confidence ≥ from (matched at threshold from, whichever way it moves).
 */
export const thresholdCountsQuery = (band: Band, hours: number) => sql.type(ThresholdCountsRow)`
  WITH ${matchAttemptsCte(hours)}
  SELECT
    b.window_from,
    b.window_to,
    count(s.confidence)::int AS attempts,
    count(*) FILTER (WHERE s.confidence >= ${band.to})::int AS matched,
    count(*) FILTER (WHERE s.confidence >= ${band.from} AND s.confidence < ${band.to})::int AS in_band,
    count(*) FILTER (WHERE s.confidence >= ${band.from})::int AS at_from,
    count(*) FILTER (WHERE s.has_confidence AND s.confidence IS NULL)::int AS invalid_confidence
  FROM bounds b LEFT JOIN showtimes s ON true
  GROUP BY b.window_from, b.window_to
`;
