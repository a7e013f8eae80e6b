import { backfillSql, FOLD_LOCK_KEY, monthBucket } from './rollup-upserts.ts';

export interface BackfillClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Fills the rollups from the raw rows, one UTC month per batch (two statements each; the bounds are
 * worked out in UTC whatever the session's TimeZone, without PostgreSQL 16's `date_add`), on a client
 * that already holds the raw table locked against writers in the same transaction as the triggers'
 * creation, so no row is counted twice or missed. The bounds go back to the server as its own text
 * (same session, same DateStyle): `to_char` dropped the era of BC months, whose rows were then never
 * summed, and the last month before 294277 has no month after it; ±infinity is a month of its own,
 * and the first month starts at PostgreSQL's first instant (4714-11-24 BC), so it ends where
 * December 4714 BC starts, not a month after that instant.
 */
export async function backfillRollups(client: BackfillClient, onProgress: (message: string, totalRows: number) => void = () => {}): Promise<number> {
  const { rows } = await client.query(`
    SELECT m::text AS month_start,
           CASE WHEN NOT isfinite(m) THEN m::text
                WHEN m >= timestamptz '294276-12-01 00:00:00+00' THEN 'infinity'
                ELSE date_trunc('month', (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', 'UTC')::text END AS month_end,
           to_char(m AT TIME ZONE 'UTC', 'YYYY-MM BC') AS label,
           n::int AS n
    FROM (SELECT ${monthBucket('inserted_at')} AS m, count(*) AS n FROM job_execution_summaries GROUP BY 1) g
    ORDER BY m`);
  const total = rows.reduce((sum, r) => sum + Number(r.n), 0);
  let done = 0;
  for (const [index, row] of rows.entries()) {
    await client.query(backfillSql(String(row.month_start), String(row.month_end)));
    done += Number(row.n);
    onProgress(`rollup backfill: ${String(row.label || row.month_start)} done (${index + 1}/${rows.length} months, ${done}/${total} rows)`, total);
  }
  return total;
}

/**
 * Recomputes every rollup from the raw rows in one transaction; writers wait, readers do not. The
 * pending rows go too: every raw row is summed again, and no fold runs meanwhile.
 */
export async function rebuildRollups(client: BackfillClient, onProgress?: (message: string, totalRows: number) => void): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE');
    // Once raw rows are pruned, the rollups are the only record of them: a rebuild would erase it.
    const { rows: pruned } = await client.query(`SELECT to_char(pruned_before AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS before FROM job_retention`);
    if (pruned.length > 0) {
      throw new Error(
        `raw rows before ${String(pruned[0]!.before)} were pruned and live on only in the rollups: a rebuild from the raw rows would erase them (docs/ROLLBACK_PLAN.md, "Retention")`,
      );
    }
    await client.query(`SELECT pg_advisory_xact_lock(${FOLD_LOCK_KEY})`);
    await client.query('DELETE FROM job_rollups');
    await client.query('DELETE FROM job_rollup_reasons');
    await client.query('DELETE FROM job_rollup_pending');
    const rows = await backfillRollups(client, onProgress);
    await client.query('COMMIT');
    return rows;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
