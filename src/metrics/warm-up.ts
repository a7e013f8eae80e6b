import type { QuerySqlToken } from 'slonik';
import { EXACT_MAX_ROWS } from '../config.ts';
import { rollupMetricsQuery } from './rollup/rollup-metrics-query.ts';
import { windowSizeQuery } from './rollup/window-size-query.ts';
import { timeseriesQuery } from './timeseries-query.ts';
import { windowMetricsQuery } from './window-metrics-query.ts';

/** A worker no row has: a worker statement's parameter that finds nothing, at once. */
const NO_WORKER = '';

/**
 * Every statement the metrics repository sends, for the system and for a worker, under the same
 * names and with the same text (settings such as RETENTION_DAYS are parameters; node-postgres
 * refuses a name sent again with other text, test/warm-pool.test.ts), over an empty window (0 hours)
 * so that running them costs their planning and little more. A new connection of the metrics pool
 * runs them once (db/pool.ts `warmUp`): on generic plans each is then planned for good, and no
 * request pays a statement's first planning (≈ 100 ms).
 */
export function metricsStatements(): QuerySqlToken[] {
  return [undefined, NO_WORKER].flatMap((worker) => [
    windowSizeQuery(0, EXACT_MAX_ROWS, worker),
    windowMetricsQuery(0, worker),
    rollupMetricsQuery(0, 0, worker),
    timeseriesQuery(0, 'hour', worker),
  ]);
}
