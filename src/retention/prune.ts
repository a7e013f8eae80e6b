import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { repeat, type RepeatEvents } from '../db/repeat.ts';
import { onPrimary } from '../db/standby.ts';
import { pruneBeforeSql } from './horizon.ts';

/** The advisory lock one pruner at a time holds per batch (the fold's key + 1). */
export const PRUNE_LOCK_KEY = 7_301_964_119;

/** Rows per batch transaction: short row locks and WAL bursts, measured in docs/BENCHMARKS.md. */
export const PRUNE_BATCH_ROWS = 10_000;

/** After deleting this many rows the table is vacuumed at once, so the space is reused before it grows. */
export const PRUNE_VACUUM_AFTER_ROWS = 100_000;

/**
 * One batch in one transaction: records the horizon (never moving it back), then deletes up to
 * `batchRows` raw rows before it, oldest first, skipping rows a writer holds (the next run takes
 * them). `job_metrics.pruning` makes the DELETE trigger leave the rollups alone, for this
 * transaction only; a row's pending fold still happens. −1: another pruner holds the lock.
 */
const pruneBatchQuery = (retentionDays: number, batchRows: number) => sql.type(z.object({ pruned: z.number().int() }))`
  WITH horizon AS (
    INSERT INTO job_retention AS r (pruned_before, last_run_at) VALUES (${pruneBeforeSql(retentionDays)}, now())
    ON CONFLICT (singleton) DO UPDATE SET pruned_before = greatest(r.pruned_before, EXCLUDED.pruned_before), last_run_at = now()
    RETURNING pruned_before
  ),
  doomed AS (
    SELECT s.id FROM job_execution_summaries s
    WHERE s.inserted_at < (SELECT pruned_before FROM horizon)
    ORDER BY s.inserted_at LIMIT ${batchRows}
    FOR UPDATE SKIP LOCKED
  ),
  gone AS (
    DELETE FROM job_execution_summaries s USING doomed d
    WHERE s.id = d.id AND s.inserted_at < (SELECT pruned_before FROM horizon)
    RETURNING 1
  ),
  counted AS (SELECT count(*)::int AS pruned FROM gone)
  SELECT pruned FROM counted
`;

const recordRunQuery = (rows: number, first: boolean) => sql.unsafe`
  UPDATE job_retention SET pruned_rows = pruned_rows + ${rows},
    last_run_rows = ${first ? sql.fragment`0` : sql.fragment`last_run_rows`} + ${rows}
`;

export interface PruneResult {
  /** Raw rows deleted; −1 when another pruner was at work. */
  rows: number;
  batches: number;
}

/** Deletes every raw row older than the horizon, batch by batch; the rollups keep their counts. */
export async function pruneRawRows(pool: DatabasePool, retentionDays: number, batchRows = PRUNE_BATCH_ROWS): Promise<PruneResult> {
  let rows = 0;
  let batches = 0;
  for (;;) {
    const pruned = await pool.transaction(async (tx) => {
      const locked = await tx.oneFirst(sql.type(z.object({ locked: z.boolean() }))`
        SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}::bigint) AS locked`);
      if (!locked) return -1;
      await tx.query(sql.unsafe`SELECT set_config('job_metrics.pruning', 'on', true)`);
      const n = await tx.oneFirst(pruneBatchQuery(retentionDays, batchRows));
      await tx.query(recordRunQuery(n, batches === 0));
      return n;
    });
    if (pruned < 0) return batches === 0 ? { rows: -1, batches } : { rows, batches };
    rows += pruned;
    batches += 1;
    if (pruned < batchRows) break;
  }
  if (rows >= PRUNE_VACUUM_AFTER_ROWS) await pool.query(sql.unsafe`VACUUM (ANALYZE) job_execution_summaries`);
  return { rows, batches };
}

/** Prunes every `intervalMs` while the service runs; other instances skip while one holds the lock, a standby always. */
export const startPruner = (pool: DatabasePool, retentionDays: number, intervalMs: number, events: RepeatEvents) =>
  repeat(() => onPrimary(pool, () => pruneRawRows(pool, retentionDays)), intervalMs, events);
