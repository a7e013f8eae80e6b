import type { CommonQueryMethods } from 'slonik';
import type { WindowMetricsRow } from '../window-metrics-query.ts';
import { histogramPercentiles, PERCENTILE_ERROR_BOUND } from './histogram.ts';
import { sumHistograms, type HistogramCache } from './histogram-cache.ts';
import { rollupMetricsQuery, type RollupMetricsRow } from './rollup-metrics-query.ts';

export const PERCENTILES = [0.5, 0.95, 0.99] as const;

export interface Retention {
  horizon: string;
  earliest_raw_row: string | null;
  counted_from: string;
  counted_to: string;
}

export interface ComputedWindow {
  row: WindowMetricsRow;
  meta: { as_of: string; method: 'exact' | 'rollup'; percentile_error_bound: number; rows: number; retention?: Retention };
}

/** A window read from the raw rows alone: percentile_cont itself. */
export function exactWindow(row: WindowMetricsRow): ComputedWindow {
  return { row, meta: { as_of: row.window_to, method: 'exact', percentile_error_bound: 0, rows: row.executions } };
}

/**
 * A window read from rollups (and raw edges): percentiles from the histogram unless no rollup row was
 * used and the raw and pending rows were few enough to sort (`percentiles_exact`). A window reaching
 * before the retention horizon says so, and is a rollup answer either way.
 */
export function rollupWindow(row: RollupMetricsRow): ComputedWindow {
  const exact = row.percentiles_exact;
  const pct =
    row.durations === 0 || row.duration_max === null
      ? null
      : exact
        ? row.raw_pct
        : histogramPercentiles(row.histogram.map(([bin, n]) => ({ bin, n })), row.duration_max, PERCENTILES);
  const { histogram, pieces, size, raw_pct, percentiles_exact, rollup_rows, raw_rows, horizon, earliest_raw_row, counted_from, counted_to, ...rest } = row;
  void [histogram, pieces, size, raw_pct, percentiles_exact];
  return {
    row: { ...rest, duration_pct: pct },
    meta: {
      as_of: row.window_to,
      method: exact && horizon === null ? 'exact' : 'rollup',
      percentile_error_bound: exact ? 0 : PERCENTILE_ERROR_BOUND,
      rows: rollup_rows + raw_rows,
      ...(horizon === null ? {} : { retention: { horizon, earliest_raw_row, counted_from, counted_to } }),
    },
  };
}

/**
 * The window (now() − offset − hours, now() − offset] from the rollups (rollup-metrics-query.ts),
 * with the histogram of the whole window: the rollup rows' part summed here, from `cache` where the
 * service holds it.
 */
export async function readRollupRow(db: CommonQueryMethods, cache: HistogramCache, window: RollupWindow): Promise<RollupMetricsRow> {
  const { hours, offsetHours = 0, worker, retentionDays, exactMaxRows, exactPercentileRows, reasonsLimit } = window;
  const scope = JSON.stringify([worker ?? null, offsetHours, retentionDays ?? null]);
  const held = cache.held(scope, hours);
  const row = await db.one(rollupMetricsQuery(hours, offsetHours, worker, retentionDays, { held: [...held.keys()], exactMaxRows, exactPercentileRows, reasonsLimit }));
  return { ...row, histogram: sumHistograms(row.histogram, cache.resolve(scope, hours, held, row.pieces)) };
}

export interface RollupWindow {
  hours: number;
  /** The window ends this many hours before now() (0: at now()). */
  offsetHours?: number;
  worker?: string;
  retentionDays?: number;
  /** For the window size asked with it (`size`, window-size-query.ts). */
  exactMaxRows?: number;
  /** See EXACT_PERCENTILE_ROWS (rollup-metrics-query.ts). */
  exactPercentileRows?: number;
  /** At most this many reasons in by_reason; undefined: every one. */
  reasonsLimit?: number;
}
