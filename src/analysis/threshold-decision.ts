/** z for a two-sided 95 % interval: the 0.975 quantile of the standard normal distribution. */
const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/**
 * The Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3). Unlike the
 * textbook p ± z·√(p(1−p)/n) it stays inside [0, 1] and is not empty at 0 or n successes, which
 * is exactly where a clean review sample lands. `null` for n = 0: nothing was observed.
 */
export function wilsonInterval(successes: number, n: number, z = Z95): Interval | null {
  if (!Number.isInteger(n) || !Number.isInteger(successes) || n < 0 || successes < 0 || successes > n) {
    throw new RangeError(`wilsonInterval needs integers 0 ≤ successes ≤ n (got ${successes} of ${n})`);
  }
  if (n === 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the exact bound is 0 or 1; rounding must not leave it a hair outside.
  return {
    low: successes === 0 ? 0 : Math.max(0, center - half),
    high: successes === n ? 1 : Math.min(1, center + half),
  };
}

/** The seed's rule (phase 5, section 4) and the smallest review that may decide. */
export const RULE = { proceedBelow: 0.05, keepAbove: 0.1, minReviewed: 30 } as const;

export type RuleOutcome = 'proceed' | 'keep' | 'owner decides';
export type Decision = RuleOutcome | 'more samples needed' | 'insufficient sample';

export interface ThresholdDecision {
  reviewed: number;
  wrong: number;
  /** wrong / reviewed; null when nothing was reviewed. */
  fpRate: number | null;
  interval: Interval | null;
  /** What the rule says of the point estimate alone. */
  byPointEstimate: RuleOutcome | null;
  /** The rule's boundaries (0.05, 0.1) that lie strictly inside the interval. */
  straddles: number[];
  decision: Decision;
}

export function ruleOutcome(fpRate: number): RuleOutcome {
  if (fpRate < RULE.proceedBelow) return 'proceed';
  if (fpRate > RULE.keepAbove) return 'keep';
  return 'owner decides';
}

/**
 * FP < 5 %: proceed; > 10 %: keep the threshold; 5–10 %: the owner decides. The answer stands only
 * when the whole 95 % interval lies on one side of each boundary; an interval that straddles 5 % or
 * 10 % means more samples are needed. Fewer than 30 reviewed rows decide nothing.
 */
export function decideThreshold(wrong: number, reviewed: number): ThresholdDecision {
  const interval = wilsonInterval(wrong, reviewed);
  const fpRate = reviewed === 0 ? null : wrong / reviewed;
  const byPointEstimate = fpRate === null ? null : ruleOutcome(fpRate);
  const straddles = interval
    ? [RULE.proceedBelow, RULE.keepAbove].filter((b) => interval.low < b && b < interval.high)
    : [];
  const decision: Decision =
    reviewed < RULE.minReviewed ? 'insufficient sample' : straddles.length > 0 ? 'more samples needed' : byPointEstimate!;
  return { reviewed, wrong, fpRate, interval, byPointEstimate, straddles, decision };
}
