import { sql } from 'slonik';
import { z } from 'zod';
import { matchAttemptsCte } from './match-attempts.ts';
import type { Band } from './band.ts';
import { SAMPLE_COLUMNS, type SampleColumn } from './tmdb-sample-file.ts';

/** Every column as text, ready for the CSV: an absent title or tmdb_id is an empty field. */
const SampleRowSchema = z.object(
  Object.fromEntries(SAMPLE_COLUMNS.map((column) => [column, z.string()])) as Record<SampleColumn, z.ZodString>,
);

/**
 * A simple random sample without replacement of the attempts in the band: every attempt gets the
 * key md5(seed:id) and the `size` smallest keys are drawn. The same seed over the same rows draws
 * the same sample; a new row changes it only if its own key is among the smallest.
 */
export const bandSampleQuery = (band: Band, hours: number, size: number, seed: string) => sql.type(SampleRowSchema)`
  WITH ${matchAttemptsCte(hours)}
  SELECT
    s.job_id::text AS job_id,
    s.worker,
    to_char(s.inserted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS inserted_at,
    coalesce(s.results ->> 'title', '') AS title,
    coalesce(s.results ->> 'candidate_title', '') AS candidate_title,
    coalesce(s.results ->> 'tmdb_id', '') AS tmdb_id,
    s.results ->> 'confidence' AS confidence,
    '' AS verdict
  FROM showtimes s
  WHERE s.confidence >= ${band.from} AND s.confidence < ${band.to}
  ORDER BY md5(${seed}::text || ':' || s.id::text), s.id
  LIMIT ${size}
`;
