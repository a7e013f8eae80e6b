import { sql, type FragmentSqlToken } from 'slonik';

/**
 * The retention horizon: raw rows at or after it are kept, before it the rollups are the record.
 * It is the later of how far a pruner got (`job_retention`, whichever process ran it) and where
 * RETENTION_DAYS puts it now, in whole UTC hours. Taking the configured one too means an answer is
 * the same before and after the pruner runs. NULL (no horizon) when nothing was pruned and
 * retention is off: every answer is as it always was.
 */
export const horizonSql = (retentionDays: number | undefined): FragmentSqlToken => sql.fragment`greatest(
  (SELECT r.pruned_before FROM job_retention r),
  date_trunc('hour', now() - make_interval(days => ${retentionDays ?? null}::int), 'UTC'))`;

/** Where the pruner cuts now: whole UTC hours, so an hour's rollup is either all raw rows or none. */
export const pruneBeforeSql = (retentionDays: number): FragmentSqlToken =>
  sql.fragment`date_trunc('hour', now() - make_interval(days => ${retentionDays}::int), 'UTC')`;
