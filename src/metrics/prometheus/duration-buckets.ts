import { HISTOGRAM_THRESHOLDS } from '../rollup/histogram.ts';

/**
 * The `le` bounds of `job_execution_duration_seconds`, taken from the rollup histogram (histogram.ts)
 * so that every bucket count is exact: durations are whole milliseconds and a rollup bin holds the
 * integers [T(i), T(i+1) − 1], so "duration ≤ the largest value of bin i" is a sum of whole bins.
 * Each `le` is the bin edge nearest a classic bound (1 ms … 1 h): 1–100 ms exactly, then e.g.
 * 0.248 s for 250 ms and 3567.918 s for an hour (each under 1 % off the classic bound).
 */
const CLASSIC_BOUNDS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];

/** The largest duration (ms) of bin i, for i = 1 … HISTOGRAM_THRESHOLDS.length. */
const binUpper = (bin: number) => HISTOGRAM_THRESHOLDS[bin]! - 1;

function nearestBin(targetMs: number): number {
  let best = 1;
  for (let bin = 1; bin < HISTOGRAM_THRESHOLDS.length; bin++) {
    if (Math.abs(binUpper(bin) - targetMs) < Math.abs(binUpper(best) - targetMs)) best = bin;
  }
  return best;
}

export interface DurationBucket {
  /** The last rollup bin the bucket holds (the count at `le` is every row of bins ≤ this). */
  bin: number;
  /** The bound in seconds: the largest duration of that bin, in ms / 1000. */
  le: number;
}

export const DURATION_BUCKETS: readonly DurationBucket[] = CLASSIC_BOUNDS_MS.map((ms) => {
  const bin = nearestBin(ms);
  return { bin, le: binUpper(bin) / 1000 };
});
