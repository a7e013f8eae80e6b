import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { scopeOf } from '../scope.ts';
import { horizonSql } from '../../retention/horizon.ts';
import { workerKnown } from '../workers-query.ts';
import { rowExecutions } from './row-executions.ts';

/** Up to a month of hours, the hour rollups (≤ 745 rows); beyond, the day rollups (≤ 366 rows). */
const HOUR_GRAIN_MAX_HOURS = 24 * 31;

/**
 * About how many rows the window (now() − hours, now()] holds: the counts of every rollup bucket it
 * touches, so at most one bucket too many at each end, plus the pending rows (of any time and
 * worker) counted up to `limit` + 1, so a backlog after a burst is never read row by row. Enough to
 * choose between the exact and the rollup query without running both. `pruned`: the window reaches
 * before the retention horizon, so only the rollup query can answer it. `known`: the worker has
 * been seen (workers-query.ts), asked here to save a round trip.
 */
export function windowSizeQuery(hours: number, limit: number, worker?: string, retentionDays?: number) {
  return sql.prepared(`window_size_${scopeOf(worker).name}`, WindowSizeRow)`${windowSizeSelect(hours, limit, worker, retentionDays)}`;
}

export const WindowSizeRow = z.object({ rows: z.number().int(), pruned: z.boolean(), known: z.boolean() });

/** The SELECT of `windowSizeQuery`, to ask it inside another statement (rollup-metrics-query.ts). */
export function windowSizeSelect(hours: number, limit: number, worker?: string, retentionDays?: number): FragmentSqlToken {
  const grain = hours <= HOUR_GRAIN_MAX_HOURS ? 'hour' : 'day';
  const scope = scopeOf(worker);
  return sql.fragment`
    SELECT (coalesce(sum(${rowExecutions()}), 0)
      + (SELECT count(*) FROM (SELECT FROM job_rollup_pending LIMIT ${limit + 1}) q))::bigint AS rows,
      coalesce(now() - make_interval(hours => ${hours}) < ${horizonSql(retentionDays)}, false) AS pruned,
      ${workerKnown(worker)} AS known
    FROM job_rollups r
    WHERE r.grain = ${grain} AND ${scope.rollups('r')}
      AND r.bucket > now() - make_interval(hours => ${hours + (grain === 'hour' ? 1 : 24)})
      AND r.bucket <= now()`;
}
