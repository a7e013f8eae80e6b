import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../schemas/common.ts';
import type { Cursor } from './cursor.ts';
import { horizonSql } from '../retention/horizon.ts';

/**
 * The reason as the partial index idx_job_summaries_cancelled_reason keys it: B-tree entries are
 * limited to about 2.7 kB, and a writer may store a longer reason, so the index holds a prefix and
 * the exact equality is checked on the row. Unknown reasons have their own partial index
 * (idx_job_summaries_unknown_reason): `key IS NULL` would not let the planner read the index in
 * (inserted_at, id) order, an equality does.
 */
export const REASON_KEY = sql.fragment`left(s.results ->> 'cancel_reason', 200)`;

/** Which cancelled rows: one reason (text, '' included) or the unknown ones (reason IS NULL). */
export type ReasonFilter = { reason: string } | { unknown: true };

export interface ExecutionListFilter {
  hours: number;
  worker?: string;
  state?: JobState;
  reason?: ReasonFilter;
  after?: Cursor;
  limit: number;
  /** Filters no row can pass (a reason and unknown, or a reason with another state): an empty page. */
  none?: true;
}

export const ExecutionListRow = z.object({
  window_from: z.string(),
  window_to: z.string(),
  // As text: past 2^53 a number would not hold them (the repository makes them JSON integers).
  id_text: z.string().nullable(),
  job_id_text: z.string().nullable(),
  attempt: z.number().int().nullable(),
  worker: z.string().nullable(),
  queue: z.string().nullable(),
  state: z.enum(['completed', 'retryable', 'discarded', 'cancelled', 'snoozed']).nullable(),
  cancel_reason: z.string().nullable(),
  results: z.unknown(),
  duration_ms: z.number().int().nullable(),
  inserted_at: z.string().nullable(),
  inserted_at_us: z.string().nullable(),
  horizon: z.string().nullable(),
  earliest_raw_row: z.string().nullable(),
});
export type ExecutionListRow = z.infer<typeof ExecutionListRow>;

function reasonCondition(filter: ReasonFilter): FragmentSqlToken {
  // `state = 'cancelled'` is written as a literal so the planner can prove the partial index applies.
  return 'unknown' in filter
    ? sql.fragment`s.state = 'cancelled' AND s.results ->> 'cancel_reason' IS NULL`
    : sql.fragment`s.state = 'cancelled' AND s.results ->> 'cancel_reason' IS NOT NULL
        AND ${REASON_KEY} = left(${filter.reason}::text, 200) AND s.results ->> 'cancel_reason' = ${filter.reason}`;
}

/**
 * One page of the window (now() - hours, now()], newest first by (inserted_at, id), read past the
 * cursor, plus one row more than asked so the caller knows whether another page follows. The
 * window bounds come back even on an empty page (the LEFT JOIN keeps one row).
 */
export function executionListQuery(filter: ExecutionListFilter, retentionDays?: number) {
  const conditions: FragmentSqlToken[] = [
    sql.fragment`s.inserted_at > now() - make_interval(hours => ${filter.hours})`,
    sql.fragment`s.inserted_at <= now()`,
  ];
  if (filter.none) conditions.push(sql.fragment`false`);
  if (filter.worker !== undefined) conditions.push(sql.fragment`s.worker = ${filter.worker}`);
  if (filter.state !== undefined && filter.reason === undefined) conditions.push(sql.fragment`s.state = ${filter.state}`);
  if (filter.reason !== undefined) conditions.push(reasonCondition(filter.reason));
  if (filter.after !== undefined) {
    conditions.push(sql.fragment`(s.inserted_at, s.id) <
      (timestamptz 'epoch' + ${String(filter.after.insertedAtUs)}::bigint * interval '1 microsecond', ${String(filter.after.id)}::bigint)`);
  }
  return sql.type(ExecutionListRow)`
    SELECT now() - make_interval(hours => ${filter.hours}) AS window_from, now() AS window_to, page.*,
      -- Set when the window reaches before the retention horizon: older rows are pruned.
      reach.horizon,
      CASE WHEN reach.horizon IS NOT NULL THEN (SELECT min(inserted_at) FROM job_execution_summaries) END AS earliest_raw_row
    FROM (SELECT) AS one
    CROSS JOIN (
      SELECT CASE WHEN h > now() - make_interval(hours => ${filter.hours}) THEN h END AS horizon FROM (SELECT ${horizonSql(retentionDays)} AS h) x
    ) AS reach
    LEFT JOIN LATERAL (
      SELECT s.id, s.id::text AS id_text, s.job_id::text AS job_id_text, s.attempt, s.worker, s.queue, s.state,
             s.results ->> 'cancel_reason' AS cancel_reason, s.results, s.duration_ms, s.inserted_at,
             (extract(epoch FROM s.inserted_at) * 1000000)::bigint::text AS inserted_at_us
      FROM job_execution_summaries s
      WHERE ${sql.join(conditions, sql.fragment` AND `)}
      ORDER BY s.inserted_at DESC, s.id DESC
      LIMIT ${filter.limit + 1}
    ) AS page ON true
    ORDER BY page.inserted_at DESC, page.id DESC
  `;
}
