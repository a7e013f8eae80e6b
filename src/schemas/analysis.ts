import { Type, type Static } from 'typebox';
import { hoursSchema, Nullable, WindowSchema } from './common.ts';

/** The seed's question (lower 50 to 45?) over the last 30 days. */
export const TMDB_DEFAULTS = { from: 45, to: 50, hours: 720 } as const;

const bound = (description: string, fallback: number) =>
  Type.Integer({ minimum: 0, maximum: 100, default: fallback, description: `${description}; plain decimal digits (leading zeros allowed), 0–100` });

export const TmdbThresholdQuerySchema = Type.Object({
  from: Type.Optional(bound('Lower, inclusive bound of the confidence band: the proposed threshold', TMDB_DEFAULTS.from)),
  to: Type.Optional(bound('Upper, exclusive bound of the band: the current threshold (from ≥ to is an empty band)', TMDB_DEFAULTS.to)),
  hours: Type.Optional(hoursSchema(TMDB_DEFAULTS.hours)),
});
export type TmdbThresholdQuery = Static<typeof TmdbThresholdQuerySchema>;

const count = (description: string) => Type.Integer({ minimum: 0, description });
const rate = (description: string) =>
  Nullable(Type.Number({ minimum: 0, maximum: 1, description: `${description}; unrounded; null when attempts = 0` }));

export const TmdbThresholdSchema = Type.Object(
  {
    window: WindowSchema,
    band: Type.Object(
      { from: Type.Integer({ minimum: 0, maximum: 100 }), to: Type.Integer({ minimum: 0, maximum: 100 }) },
      { description: 'from ≤ confidence < to' },
    ),
    attempts: count('ShowtimeProcessJob rows in the window whose results.confidence is a JSON number from 0 to 100'),
    matched: count('Attempts with confidence ≥ to: matched at the current threshold'),
    in_band: count('Attempts with from ≤ confidence < to: the matches lowering the threshold to from would add (0 when from ≥ to)'),
    invalid_confidence: count(
      'Showtime rows whose confidence is present but not a JSON number from 0 to 100 (a numeric string, a boolean, 150): left out of every other figure',
    ),
    match_rate: rate('matched / attempts'),
    projected_match_rate: rate('Attempts with confidence ≥ from / attempts: the match rate at threshold from ((matched + in_band) / attempts when from < to)'),
  },
  { description: 'What lowering the TMDB match threshold from `to` to `from` would change (counts, not verdicts)' },
);
export type TmdbThreshold = Static<typeof TmdbThresholdSchema>;
