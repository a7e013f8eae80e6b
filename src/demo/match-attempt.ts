import { sql, type FragmentSqlToken } from 'slonik';

/**
 * The TMDB match attempt a showtime row records in `results` (docs/TMDB_THRESHOLD.md), for the demo
 * and the synthetic rows, from the row number `i` of the INSERT … SELECT it is used in. Confidence
 * is 50–99.9 where `matched` holds and 0–49.9 elsewhere, with a density that grows towards 50 (a
 * fifth of the unmatched lie in 45–50, as near misses do); a deterministic function of `i`, so the
 * synthetic rows' random stream is untouched. Candidate titles include commas, quotes and non-ASCII.
 */
export const matchAttemptJson = (matched: FragmentSqlToken, titles: number) => sql.fragment`
  jsonb_build_object(
    'title', 'Film #' || i % ${titles},
    'candidate_title', CASE WHEN i % 3 = 0 THEN 'Film #' || i % ${titles} ELSE (ARRAY[
      'Crouching Tiger, Hidden Dragon', 'The "Burbs"', 'Léon: The Professional', 'Amélie', 'Se7en',
      'Schindler''s List', '千と千尋の神隠し', 'Film #' || (i + 1) % ${titles}
    ])[1 + (i % 8)::int] END,
    'tmdb_id', 10000 + (i * 7919) % 90000,
    'confidence', (CASE WHEN ${matched} THEN 50 + floor(500 * ((i * 48271) % 10007) / 10007.0) / 10
                        ELSE floor(500 * sqrt(((i * 48271) % 10007) / 10007.0)) / 10 END)::numeric(4, 1)
  )
`;
