import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { horizonSql } from './horizon.ts';

/**
 * The whole hours from now back to the horizon, at most `hours`: the longest window ending now
 * whose raw rows are all kept, where the raw oracle and the rollups must agree.
 */
export const hoursInsideHorizon = async (db: CommonQueryMethods, hours: number, retentionDays?: number): Promise<number> =>
  db.oneFirst(sql.type(z.object({ hours: z.number().int() }))`
    SELECT least(${hours}::int, coalesce(floor(extract(epoch FROM now() - ${horizonSql(retentionDays)}) / 3600)::int, ${hours}::int)) AS hours
  `);

export const RetentionStatus = z.object({
  pruned_before: z.string().nullable(),
  last_run_at: z.string().nullable(),
  last_run_rows: z.number().int().nullable(),
  pruned_rows: z.number().int().nullable(),
  oldest_raw_row: z.string().nullable(),
  /** Where RETENTION_DAYS puts the horizon now; null when not given. */
  due_before: z.string().nullable(),
});
export type RetentionStatus = z.infer<typeof RetentionStatus>;

/** How far pruning got, and the oldest raw row (one index probe on inserted_at). */
export const retentionStatusQuery = (retentionDays?: number) => sql.type(RetentionStatus)`
  SELECT r.pruned_before, r.last_run_at, r.last_run_rows, r.pruned_rows,
    (SELECT min(s.inserted_at) FROM job_execution_summaries s) AS oldest_raw_row,
    date_trunc('hour', now() - make_interval(days => ${retentionDays ?? null}::int), 'UTC') AS due_before
  FROM (SELECT) one LEFT JOIN job_retention r ON true
`;
