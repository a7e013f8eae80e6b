/** A confidence band: from ≤ confidence < to, both whole numbers 0–100 (docs/TMDB_THRESHOLD.md). */
export interface Band {
  /** Inclusive lower bound: the proposed threshold. */
  from: number;
  /** Exclusive upper bound: the current threshold. */
  to: number;
}

