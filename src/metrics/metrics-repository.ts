import type { DatabasePool } from 'slonik';
import type { SystemMetrics, WorkerList, WorkerMetrics } from '../schemas/metrics.ts';
import { statesOf } from './state-counts.ts';
import { createTimeseriesRepository } from './timeseries-repository.ts';
import { windowMetricsQuery, type WindowMetricsRow } from './window-metrics-query.ts';
import { workerExistsQuery, workersQuery } from './workers-query.ts';

function toMetrics(hours: number, row: WindowMetricsRow): SystemMetrics {
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
  };
}

/** The metrics questions, asked in plain typed arguments; HTTP stays in the routes. */
export function createMetricsRepository(db: DatabasePool) {
  return {
    async systemMetrics(hours: number): Promise<SystemMetrics> {
      return toMetrics(hours, await db.one(windowMetricsQuery(hours)));
    },

    /** `null` when the worker has never been seen (as opposed to idle in this window). */
    async workerMetrics(worker: string, hours: number): Promise<WorkerMetrics | null> {
      const { known } = await db.one(workerExistsQuery(worker));
      if (!known) return null;
      return { worker, ...toMetrics(hours, await db.one(windowMetricsQuery(hours, worker))) };
    },

    ...createTimeseriesRepository(db),

    async workers(): Promise<WorkerList> {
      return { workers: [...(await db.any(workersQuery()))] };
    },
  };
}

export type MetricsRepository = ReturnType<typeof createMetricsRepository>;
