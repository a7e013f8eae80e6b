import type { DatabasePool } from 'slonik';
import type { SystemMetrics, WorkerList, WorkerMetrics } from '../schemas/metrics.ts';
import { EXACT_MAX_ROWS } from '../config.ts';
import type { HistogramCache } from './rollup/histogram-cache.ts';
import { shareReads } from './shared-reads.ts';
import { createTimeseriesRepository } from './timeseries-repository.ts';
import { comparedWindowMetrics, createWindowStrategy, windowMetrics } from './window-metrics.ts';
import { workersQuery } from './workers-query.ts';

export interface MetricsOptions {
  compare?: 'previous';
  /** At most this many reasons in by_reason, the largest; undefined: every one. */
  reasons?: number;
}

/** The metrics questions, asked in plain typed arguments; HTTP stays in the routes. */
export interface MetricsRepositoryOptions {
  exactMaxRows?: number;
  /** Identical concurrent questions share one read that starts after each was asked (default true). */
  shareReads?: boolean;
  /** RETENTION_DAYS: windows reaching before the horizon are answered from the rollups. */
  retentionDays?: number;
}

export function createMetricsRepository(db: DatabasePool, options: MetricsRepositoryOptions = {}) {
  const strategy = createWindowStrategy(options.exactMaxRows ?? EXACT_MAX_ROWS, options.retentionDays);

  /** How each window is answered: window-metrics.ts. */
  const answer = async (hours: number, options: MetricsOptions, worker?: string): Promise<SystemMetrics | null> => {
    const question = { hours, worker, reasonsLimit: options.reasons };
    return options.compare === 'previous'
      ? db.transaction((tx) => comparedWindowMetrics(tx, strategy, question))
      : windowMetrics(db, strategy, question);
  };

  const systemMetrics = async (hours: number, options: MetricsOptions = {}): Promise<SystemMetrics> => {
    const metrics = await answer(hours, options);
    if (metrics === null) throw new Error('the system scope is always known');
    return metrics;
  };

  /** `null` when the worker has never been seen (as opposed to idle in this window). */
  const workerMetrics = async (worker: string, hours: number, options: MetricsOptions = {}): Promise<WorkerMetrics | null> => {
    const metrics = await answer(hours, options, worker);
    return metrics === null ? null : { worker, ...metrics };
  };

  const shared = options.shareReads ?? true;
  return {
    systemMetrics: shared ? shareReads(systemMetrics, (hours, o = {}) => JSON.stringify([hours, o.compare, o.reasons])) : systemMetrics,
    workerMetrics: shared ? shareReads(workerMetrics, (worker, hours, o = {}) => JSON.stringify([worker, hours, o.compare, o.reasons])) : workerMetrics,

    ...createTimeseriesRepository(db, options.retentionDays),

    /** The rollup histograms held between reads (for /metrics). */
    histograms: strategy.histograms as Pick<HistogramCache, 'size' | 'bytes' | 'used'>,

    async workers(): Promise<WorkerList> {
      return { workers: [...(await db.any(workersQuery()))] };
    },
  };
}

export type MetricsRepository = ReturnType<typeof createMetricsRepository>;
