/** A confidence band: from ≤ confidence < to, both whole numbers 0–100 (docs/TMDB_THRESHOLD.md). */
export interface Band {
  /** Inclusive lower bound: the proposed threshold. */
  from: number;
  /** Exclusive upper bound: the current threshold. */
  to: number;
}

/** The seed's question (lower 50 to 45?) over the last 30 days. */
export const TMDB_DEFAULTS = { from: 45, to: 50, hours: 720 } as const;
