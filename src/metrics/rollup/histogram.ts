/**
 * The duration histogram the rollups keep: integer bins whose bounds are exact integers, so
 * PostgreSQL (`width_bucket(duration_ms, thresholds)`) and this file agree on every value.
 * Bin 0 holds 0 ms alone; bin i ≥ 1 holds [T(i), T(i+1) − 1] where each bin's largest value is at
 * most 1.0199 × its smallest. Estimating a value by 2·L·H / (L + H) is then off by at most
 * (H − L) / (H + L) < 0.99 %, and 1…50 ms are exact (one value per bin).
 */
const INT_MAX = 2_147_483_647;
const RATIO = 1.0199;

function buildThresholds(): number[] {
  const thresholds: number[] = [];
  for (let low = 1; low <= INT_MAX; ) {
    thresholds.push(low);
    low = Math.max(low, Math.floor(low * RATIO)) + 1;
  }
  return thresholds;
}

/** PostgreSQL's `width_bucket` array: thresholds[i − 1] is the smallest value of bin i. */
export const HISTOGRAM_THRESHOLDS: readonly number[] = buildThresholds();

function binRange(bin: number): [number, number] {
  if (bin <= 0) return [0, 0];
  const low = HISTOGRAM_THRESHOLDS[bin - 1]!;
  const next = HISTOGRAM_THRESHOLDS[bin];
  return [low, next === undefined ? INT_MAX : next - 1];
}

/** The value that minimises the worst relative error over a bin's integers. */
export function binEstimate(bin: number): number {
  const [low, high] = binRange(bin);
  return low === high ? low : (2 * low * high) / (low + high);
}

/** The largest relative error of any bin estimate: the bound on every percentile from rollups. */
export const PERCENTILE_ERROR_BOUND = Math.max(
  ...HISTOGRAM_THRESHOLDS.map((_, i) => {
    const [low, high] = binRange(i + 1);
    return (high - low) / (high + low);
  }),
);

/**
 * percentile_cont over the histogram: the two order statistics around p·(N − 1) are each estimated
 * within the bound, so their linear interpolation is too. The largest value is `max`, exactly.
 */
export function histogramPercentiles(bins: readonly { bin: number; n: number }[], max: number, ps: readonly number[]): number[] {
  const sorted = bins.filter((b) => b.n > 0).sort((a, b) => a.bin - b.bin);
  const total = sorted.reduce((sum, b) => sum + b.n, 0);
  const valueAt = (rank: number): number => {
    if (rank >= total - 1) return max;
    let seen = 0;
    for (const { bin, n } of sorted) {
      seen += n;
      if (rank < seen) return Math.min(binEstimate(bin), max);
    }
    return max;
  };
  return ps.map((p) => {
    const position = p * (total - 1);
    const lower = Math.floor(position);
    const low = valueAt(lower);
    return low + (valueAt(Math.ceil(position)) - low) * (position - lower);
  });
}
