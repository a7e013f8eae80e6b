import type { CommonQueryMethods, DatabasePool } from 'slonik';
import type { Compare, SystemMetrics, WorkerList, WorkerMetrics } from '../schemas/metrics.ts';
import { EXACT_MAX_ROWS } from '../config.ts';
import { shareReads } from './shared-reads.ts';
import { statesOf } from './state-counts.ts';
import { createTimeseriesRepository } from './timeseries-repository.ts';
import { windowMetricsQuery, type WindowMetricsRow } from './window-metrics-query.ts';
import { workerExistsQuery, workersQuery } from './workers-query.ts';
import { exactWindow, rollupWindow, type ComputedWindow } from './rollup/rollup-metrics.ts';
import { rollupMetricsQuery } from './rollup/rollup-metrics-query.ts';
import { windowSizeQuery } from './rollup/window-size-query.ts';

export interface MetricsOptions {
  compare?: 'previous';
}

function toMetrics(hours: number, { row, meta }: ComputedWindow): SystemMetrics {
  const [p50, p95, p99] = row.duration_pct ?? [];
  return {
    window: { hours, from: row.window_from, to: row.window_to },
    executions: row.executions,
    states: statesOf(row),
    success_rate: row.executions === 0 ? null : row.completed / row.executions,
    cancellations: { total: row.cancelled, unknown: row.unknown_reasons, by_reason: row.by_reason },
    duration_ms:
      row.durations === 0 || p50 === undefined || p95 === undefined || p99 === undefined
        ? null
        : { avg: row.duration_avg ?? 0, p50, p95, p99, max: row.duration_max ?? 0 },
    meta,
  };
}

const difference = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : a - b;
const unknownShare = (m: SystemMetrics) => (m.cancellations.total === 0 ? null : m.cancellations.unknown / m.cancellations.total);

function compareWith(current: SystemMetrics, previous: SystemMetrics): Compare {
  return {
    previous,
    deltas: {
      success_rate: difference(current.success_rate, previous.success_rate),
      unknown_share: difference(unknownShare(current), unknownShare(previous)),
      p95: difference(current.duration_ms?.p95, previous.duration_ms?.p95),
    },
  };
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
  const exactMaxRows = options.exactMaxRows ?? EXACT_MAX_ROWS;
  const { retentionDays } = options;
  const exact = async (db: CommonQueryMethods, hours: number, worker?: string) => {
    const row: WindowMetricsRow = await db.one(windowMetricsQuery(hours, worker));
    return toMetrics(hours, exactWindow(row));
  };

  /**
   * A window that holds few rows, however long, from the raw rows: exact percentile_cont. Larger
   * ones from the rollups plus under a minute of raw rows at each end (percentiles within the bound),
   * however short: an hour can hold a million rows. The size comes from the rollup counts and a
   * bounded look at the pending rows, so only one of the two window queries runs. A window reaching
   * before the retention horizon is the rollups' whatever its size: its oldest raw rows may be gone.
   */
  async function windowMetrics(db: CommonQueryMethods, hours: number, worker?: string): Promise<SystemMetrics> {
    const { rows, pruned } = await db.one(windowSizeQuery(hours, exactMaxRows, worker, retentionDays));
    if (rows <= exactMaxRows && !pruned) return exact(db, hours, worker);
    return toMetrics(hours, rollupWindow(await db.one(rollupMetricsQuery(hours, 0, worker, retentionDays))));
  }

  /** Both windows in one transaction: one now(), so the previous window ends exactly where this one starts. */
  async function withCompare(hours: number, options: MetricsOptions, worker?: string): Promise<SystemMetrics> {
    if (options.compare !== 'previous') return windowMetrics(db, hours, worker);
    return db.transaction(async (tx) => {
      const current = await windowMetrics(tx, hours, worker);
      const previous = toMetrics(hours, rollupWindow(await tx.one(rollupMetricsQuery(hours, hours, worker, retentionDays))));
      return { ...current, compare: compareWith(current, previous) };
    });
  }

  const systemMetrics = async (hours: number, options: MetricsOptions = {}): Promise<SystemMetrics> => withCompare(hours, options);

  /** `null` when the worker has never been seen (as opposed to idle in this window). */
  const workerMetrics = async (worker: string, hours: number, options: MetricsOptions = {}): Promise<WorkerMetrics | null> => {
    const { known } = await db.one(workerExistsQuery(worker));
    if (!known) return null;
    return { worker, ...(await withCompare(hours, options, worker)) };
  };

  const shared = options.shareReads ?? true;
  return {
    systemMetrics: shared ? shareReads(systemMetrics, (hours, o = {}) => JSON.stringify([hours, o.compare])) : systemMetrics,
    workerMetrics: shared ? shareReads(workerMetrics, (worker, hours, o = {}) => JSON.stringify([worker, hours, o.compare])) : workerMetrics,

    ...createTimeseriesRepository(db, retentionDays),

    async workers(): Promise<WorkerList> {
      return { workers: [...(await db.any(workersQuery()))] };
    },
  };
}

export type MetricsRepository = ReturnType<typeof createMetricsRepository>;
