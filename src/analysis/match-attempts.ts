import { sql } from 'slonik';
import { SHOWTIME_WORKER } from '../demo/demo-data.ts';

/**
 * The showtime rows of the window `(now() - hours, now()]`, each with its match confidence read from
 * `results -> 'confidence'`: a JSON number from 0 to 100 is a match attempt (`confidence` set);
 * a missing key, JSON null or a `results` that is not an object is no attempt (`has_confidence`
 * false); anything else — a numeric string, a boolean, a number outside 0–100 — is an invalid
 * confidence (`has_confidence` true, `confidence` NULL): counted, never guessed at, never an error.
 * The nested CASE keeps the numeric cast away from values that are not JSON numbers.
 */
export const matchAttemptsCte = (hours: number) => sql.fragment`
  bounds AS (
    SELECT now() AS window_to, now() - make_interval(hours => ${hours}) AS window_from
  ),
  showtimes AS (
    SELECT
      s.id,
      s.job_id,
      s.worker,
      s.inserted_at,
      s.results,
      coalesce(jsonb_typeof(s.results -> 'confidence'), 'null') <> 'null' AS has_confidence,
      CASE WHEN jsonb_typeof(s.results -> 'confidence') = 'number' THEN
        CASE WHEN (s.results ->> 'confidence')::numeric BETWEEN 0 AND 100 THEN (s.results ->> 'confidence')::numeric END
      END AS confidence
    FROM job_execution_summaries s, bounds b
    WHERE s.worker = ${SHOWTIME_WORKER} AND s.inserted_at > b.window_from AND s.inserted_at <= b.window_to
  )
`;
