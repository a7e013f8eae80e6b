import type { DatabasePool } from 'slonik';
import type { TmdbThreshold } from '../schemas/analysis.ts';
import { bandSampleQuery } from './tmdb-sample-query.ts';
import type { Band } from './band.ts';
import type { SampleRow } from './tmdb-sample-file.ts';
import { thresholdCountsQuery } from './tmdb-threshold-query.ts';

/** The TMDB threshold questions in plain typed arguments; the route and the CLIs share them. */
export function createTmdbThresholdRepository(db: DatabasePool) {
  return {
    async counts(band: Band, hours: number): Promise<TmdbThreshold> {
      const row = await db.one(thresholdCountsQuery(band, hours));
      const rate = (n: number) => (row.attempts === 0 ? null : n / row.attempts);
      return {
        window: { hours, from: row.window_from, to: row.window_to },
        band,
        attempts: row.attempts,
        matched: row.matched,
        in_band: row.in_band,
        invalid_confidence: row.invalid_confidence,
        match_rate: rate(row.matched),
        projected_match_rate: rate(row.at_from),
      };
    },

    async sample(band: Band, hours: number, size: number, seed: string): Promise<readonly SampleRow[]> {
      return db.any(bandSampleQuery(band, hours, size, seed));
    },
  };
}

export type TmdbThresholdRepository = ReturnType<typeof createTmdbThresholdRepository>;
