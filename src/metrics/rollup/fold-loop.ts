import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { onPrimary, StandbyError } from '../../db/standby.ts';
import { repeat, type RepeatEvents } from '../../db/repeat.ts';
import { FOLD_LOCK_KEY } from './rollup-upserts.ts';

/**
 * Rows per fold transaction: a backlog (after downtime) is moved in transactions of about a second,
 * not one long one. Each batch rewrites every rollup row its rows touch (≈ 0.35 s for a backlog in
 * the last hour, whatever the batch's size), so bigger batches drain sooner: 1M pending rows took
 * 11.0 s in batches of 50,000, 6.7 s in batches of 200,000 (one idle core; docs/BENCHMARKS.md).
 */
export const FOLD_BATCH_ROWS = 200_000;
/**
 * The smallest batch the folder falls back to. Late rows spread over days touch a rollup row per
 * minute, hour and day each: a batch of them can outlast the statement timeout on a busy machine,
 * and a fold that is always cancelled never drains anything.
 */
export const FOLD_MIN_BATCH_ROWS = 500;

/** −1 when another folder (or an UPDATE/DELETE applier) holds the lock: it is doing the work. */
export const foldQuery = (maxRows: number) => sql.type(z.object({ folded: z.number().int() }))`
  SELECT CASE WHEN pg_try_advisory_xact_lock(${FOLD_LOCK_KEY}::bigint) THEN job_rollup_fold(${maxRows}) ELSE -1 END AS folded
`;

/** After moving this many rows, the pending table's emptied pages are reclaimed at once. */
export const VACUUM_AFTER_ROWS = 10_000;

/** A drained pending table still this large on disk is cut back to nothing (see `shrinkPending`). */
export const SHRINK_PENDING_BYTES = 1024 * 1024;

/**
 * Reads scan the pending table whole, empty pages included. VACUUM cuts off trailing empty pages
 * only when it gets the table to itself for a moment, which a steady stream of reads never gives
 * it: 300k burst rows drained under two reading clients left 21.9 MB of empty pages, and the big
 * worker's 8760 h window went from 14.6 to 25.5 ms a request (1M rows). So the folder, holding the
 * fold lock, waits at most 100 ms for the table alone (writers and readers queue behind it that
 * long at most), folds the few rows that came in since, and TRUNCATEs it. Skipped without the
 * locks or the privilege, to be tried on a later tick. TRUNCATE is not MVCC-safe: the one
 * multi-statement snapshot that reads this table (verify.ts) locks it before taking the snapshot.
 */
const shrinkPendingQuery = sql.unsafe`
  DO $$
  BEGIN
    IF pg_relation_size('job_rollup_pending') <= ${sql.literalValue(String(SHRINK_PENDING_BYTES))}::bigint
      OR NOT pg_try_advisory_xact_lock(${sql.literalValue(String(FOLD_LOCK_KEY))}::bigint) THEN
      RETURN;
    END IF;
    SET LOCAL lock_timeout = '100ms';
    LOCK TABLE job_rollup_pending IN ACCESS EXCLUSIVE MODE;
    PERFORM job_rollup_fold();
    TRUNCATE job_rollup_pending;
  EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
    NULL;
  END $$`;

/**
 * The metrics sessions keep each statement's generic plan until a table's statistics change, and
 * plans made over the usual near-empty pending table sort its rows to group them, or expect one
 * row. Over 1M pending rows a read took 370–470 ms with such a plan against 215–260 ms planned
 * again, and in bench:shapes the big worker's reads ran at 1 s p50 while a backlog drained. So a
 * pending table grown past four times the size its statistics saw, plus 1 MB (≈ 15,000 rows), is
 * analysed before it is folded, whoever holds the fold lock, and every session plans again. Below
 * that, none is: each ANALYZE costs every session a new plan. Only the table's owner may analyse
 * it; other roles leave it to autovacuum.
 */
const analyzeGrownPendingQuery = sql.unsafe`
  DO $$
  BEGIN
    IF (SELECT pg_relation_size(c.oid) > 4 * greatest(c.relpages, 0)::bigint * current_setting('block_size')::bigint + 1048576
          AND pg_has_role(c.relowner, 'USAGE')
        FROM pg_class c WHERE c.oid = 'job_rollup_pending'::regclass) THEN
      ANALYZE job_rollup_pending;
    END IF;
  END $$`;

/**
 * Folds batches until the pending table is drained (or another folder has it); returns the rows
 * moved. After a burst the table is vacuumed right away, instead of whenever autovacuum comes
 * round, and once drained it is shrunk if it is still large on disk. A grown table is analysed
 * first (above).
 */
export async function foldPending(pool: DatabasePool, batchRows = FOLD_BATCH_ROWS): Promise<number> {
  let total = 0;
  await pool.query(analyzeGrownPendingQuery);
  for (;;) {
    const { folded } = await pool.one(foldQuery(batchRows));
    if (folded > 0) total += folded;
    if (folded < batchRows) break;
  }
  if (total >= VACUUM_AFTER_ROWS) await pool.query(sql.unsafe`VACUUM job_rollup_pending`);
  await shrinkPending(pool);
  return total;
}

/** Cuts a drained but large pending table back to nothing, when it can have it for a moment. */
export async function shrinkPending(pool: DatabasePool): Promise<void> {
  await pool.query(shrinkPendingQuery);
}

/**
 * Folds the pending rows every `intervalMs`, so reads stay a few rollup rows plus a small pending
 * table. Readers are exact whether or not this runs; it only keeps them fast. On a standby each
 * run fails with StandbyError until it is promoted.
 */
export function startFoldLoop(pool: DatabasePool, intervalMs: number, events: RepeatEvents) {
  // A batch that fails (a statement timeout, say) is retried a quarter the size; success doubles it back.
  let batch = FOLD_BATCH_ROWS;
  return repeat(
    () =>
      onPrimary(pool, () => foldPending(pool, batch)).then(
        (rows) => {
          batch = Math.min(FOLD_BATCH_ROWS, batch * 2);
          return rows;
        },
        (error: unknown) => {
          if (!(error instanceof StandbyError)) batch = Math.max(FOLD_MIN_BATCH_ROWS, Math.floor(batch / 4));
          throw error;
        },
      ),
    intervalMs,
    events,
  );
}
