import type { DatabasePool } from 'slonik';
import type { Bucket, SystemTimeseries, WorkerTimeseries } from '../schemas/timeseries.ts';
import { statesOf } from './state-counts.ts';
import { timeseriesQuery, type TimeseriesRow } from './timeseries-query.ts';

function toTimeseries(hours: number, bucket: Bucket, rows: readonly TimeseriesRow[]): SystemTimeseries {
  const first = rows[0];
  if (!first) throw new Error('generate_series returned no bucket');
  return {
    window: { hours, from: first.window_from, to: first.window_to },
    bucket,
    points: rows.map((row) => ({ start: row.start, executions: row.executions, states: statesOf(row), unknown: row.unknown_reasons })),
  };
}

/** The time-series questions: executions per bucket, for the system or one worker. */
export function createTimeseriesRepository(db: DatabasePool, retentionDays?: number) {
  return {
    async systemTimeseries(hours: number, bucket: Bucket): Promise<SystemTimeseries> {
      return toTimeseries(hours, bucket, await db.any(timeseriesQuery(hours, bucket, undefined, retentionDays)));
    },

    /** `null` when the worker has never been seen. */
    async workerTimeseries(worker: string, hours: number, bucket: Bucket): Promise<WorkerTimeseries | null> {
      const rows = await db.any(timeseriesQuery(hours, bucket, worker, retentionDays));
      if (rows[0]?.known === false) return null;
      return { worker, ...toTimeseries(hours, bucket, rows) };
    },
  };
}
