import { sql, type DatabasePool } from 'slonik';
import { windowMetricsQuery, type WindowMetricsRow } from '../window-metrics-query.ts';
import { backfillRollups, type BackfillClient } from './backfill.ts';
import { foldPendingSql, keptBuckets } from './rollup-upserts.ts';
import { PERCENTILE_ERROR_BOUND } from './histogram.ts';
import { HistogramCache } from './histogram-cache.ts';
import { readRollupRow, rollupWindow } from './rollup-metrics.ts';
import { hoursInsideHorizon } from '../../retention/status.ts';
import { rowExecutionsText } from './row-executions.ts';

const PERCENTILE_NAMES = ['p50', 'p95', 'p99'];

function differences(raw: WindowMetricsRow, rollup: WindowMetricsRow): string[] {
  const found: string[] = [];
  const exact = (name: keyof WindowMetricsRow) => {
    if (JSON.stringify(raw[name]) !== JSON.stringify(rollup[name])) {
      found.push(`${name}: raw ${JSON.stringify(raw[name]).slice(0, 200)} ≠ rollup ${JSON.stringify(rollup[name]).slice(0, 200)}`);
    }
  };
  for (const name of ['executions', 'completed', 'retryable', 'discarded', 'cancelled', 'snoozed'] as const) exact(name);
  for (const name of ['unknown_reasons', 'by_reason', 'other_reasons', 'durations', 'duration_max'] as const) exact(name);
  const [a, b] = [raw.duration_avg, rollup.duration_avg];
  if ((a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) > 1e-12 * Math.max(1, Math.abs(a)))) {
    found.push(`duration_avg: raw ${a} ≠ rollup ${b}`);
  }
  raw.duration_pct?.forEach((value, i) => {
    const estimate = rollup.duration_pct?.[i];
    if (estimate === undefined || Math.abs(estimate - value) > PERCENTILE_ERROR_BOUND * value + 1e-9) {
      found.push(`${PERCENTILE_NAMES[i]}: raw ${value}, rollup ${estimate} (more than ${PERCENTILE_ERROR_BOUND} apart)`);
    }
  });
  if ((raw.duration_pct === null) !== (rollup.duration_pct === null)) found.push('duration percentiles: null on one side only');
  return found;
}

/**
 * The raw oracle and the rollup answer for the same window, read in one REPEATABLE READ
 * transaction (one snapshot, one now()): counts, reasons, avg and max must be equal, percentiles
 * within the bound. Returns the differences, empty when they agree. A window reaching before the
 * retention horizon is shortened to the whole hours after it: before it there is no raw oracle.
 */
export async function verifyWindow(pool: DatabasePool, requestedHours: number, worker?: string, retentionDays?: number): Promise<string[]> {
  return pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
    // Before the snapshot: the folder's TRUNCATE of the pending table (fold-loop.ts) waits for us.
    await tx.query(sql.unsafe`LOCK TABLE job_rollup_pending IN ACCESS SHARE MODE`);
    const hours = await hoursInsideHorizon(tx, requestedHours, retentionDays);
    if (hours < 1) return [];
    const raw = await tx.one(windowMetricsQuery(hours, worker));
    // A cache of its own, empty: every histogram is read from the rollups in this snapshot.
    const { row } = rollupWindow(await readRollupRow(tx, new HistogramCache(), { hours, worker }));
    return differences(raw, row);
  });
}

/** retention/horizon.ts's horizon for a plain client ($1: RETENTION_DAYS or null); '-infinity' without one. */
const HORIZON_TEXT = `SELECT coalesce(greatest((SELECT pruned_before FROM job_retention),
  date_trunc('hour', now() - make_interval(days => $1::int), 'UTC')), '-infinity')::text AS h`;

/**
 * Minutes and ten seconds past their keep are left to the next fold's cleanup, and no longer read:
 * not compared. Nor are buckets before the retention horizon (`$1`): there the rollups are the only
 * record. A minute's ten-second rows are compared only where the kept ones sum to the kept minute,
 * the only ones a reader uses (older rows and UPDATE/DELETE leave a minute's incomplete on purpose).
 */
const compared = (table: string) => `${keptBuckets()}
  AND (grain <> 'ten_seconds' OR EXISTS (
    SELECT FROM pg_temp.whole_minutes w WHERE w.worker IS NOT DISTINCT FROM ${table}.worker
      AND w.minute = date_bin('1 minute', ${table}.bucket, timestamptz '2000-01-01 00:00:00+00')))
  AND bucket >= $1::timestamptz`;

/** (worker, minute) whose ten-second rows in `rollups` sum to its minute row. */
const wholeMinutesSql = (rollups: string) => `
  CREATE TEMP TABLE whole_minutes ON COMMIT DROP AS
  SELECT t.worker, t.minute FROM (
    SELECT worker, date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') AS minute, sum(${rowExecutionsText()}) AS n
    FROM ${rollups} WHERE grain = 'ten_seconds' GROUP BY 1, 2
  ) t JOIN ${rollups} m ON m.grain = 'minute' AND m.worker IS NOT DISTINCT FROM t.worker AND m.bucket = t.minute AND ${rowExecutionsText('m')} = t.n`;

const normalised = (rollups: string, reasons: string) => `
  SELECT 'stats' AS kind, grain, worker, bucket, NULL AS reason,
         ARRAY[completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, coalesce(dur_max, -1)] AS counts,
         hist
  FROM ${rollups} WHERE ${rowExecutionsText()} <> 0 AND ${compared(rollups)}
  UNION ALL
  SELECT 'reason', grain, worker, bucket, reason, ARRAY[n], NULL FROM ${reasons} WHERE n <> 0 AND ${compared(reasons)}`;

const shadowTables = async (client: BackfillClient) => {
  await client.query('CREATE TEMP TABLE job_rollups (LIKE public.job_rollups INCLUDING ALL) ON COMMIT DROP');
  await client.query('CREATE TEMP TABLE job_rollup_reasons (LIKE public.job_rollup_reasons INCLUDING ALL) ON COMMIT DROP');
};

/**
 * Lists every bucket where the trigger-kept rollups differ from a rebuild from the raw rows; empty
 * when they agree. Inside one snapshot and rolled back, nothing real is written: the kept side is a
 * copy of the rollups with the pending rows folded in (what readers see), the rebuilt side the
 * backfill's own SQL run into temporary tables that shadow the real ones.
 */
export async function auditRollups(client: BackfillClient, limit = 20, retentionDays?: number): Promise<string[]> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    // Before the snapshot: the folder's TRUNCATE of the pending table (fold-loop.ts) waits for us.
    await client.query('LOCK TABLE job_rollup_pending IN ACCESS SHARE MODE');
    const { rows: horizon } = await client.query(HORIZON_TEXT, [retentionDays ?? null]);
    const from = String(horizon[0]!.h);
    await shadowTables(client);
    await client.query('INSERT INTO pg_temp.job_rollups SELECT * FROM public.job_rollups');
    await client.query('INSERT INTO pg_temp.job_rollup_reasons SELECT * FROM public.job_rollup_reasons');
    await client.query(foldPendingSql());
    await client.query('ALTER TABLE pg_temp.job_rollups RENAME TO kept_rollups');
    await client.query('ALTER TABLE pg_temp.job_rollup_reasons RENAME TO kept_reasons');
    await client.query(wholeMinutesSql('pg_temp.kept_rollups'));
    await shadowTables(client);
    await backfillRollups(client);
    const kept = normalised('pg_temp.kept_rollups', 'pg_temp.kept_reasons');
    const rebuilt = normalised('pg_temp.job_rollups', 'pg_temp.job_rollup_reasons');
    const { rows } = await client.query(`
      (SELECT 'kept by triggers' AS side, * FROM (SELECT * FROM (${kept}) p EXCEPT ALL SELECT * FROM (${rebuilt}) q) a
       UNION ALL
       SELECT 'rebuilt from raw', * FROM (SELECT * FROM (${rebuilt}) p EXCEPT ALL SELECT * FROM (${kept}) q) b)
      ORDER BY kind, grain, worker, bucket, side LIMIT ${Number(limit)}`, [from]);
    return rows.map((r) => JSON.stringify(r));
  } finally {
    await client.query('ROLLBACK');
  }
}
