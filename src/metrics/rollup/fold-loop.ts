import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { repeat, type RepeatEvents } from '../../db/repeat.ts';
import { FOLD_LOCK_KEY } from './rollup-upserts.ts';

/** Rows per fold transaction: a backlog (after downtime) is moved in short transactions, not one long one. */
export const FOLD_BATCH_ROWS = 50_000;
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

/**
 * Folds batches until the pending table is drained (or another folder has it); returns the rows
 * moved. Reads scan the pending table whole, empty pages included, so after a burst it is vacuumed
 * right away (and its trailing empty pages cut off) instead of whenever autovacuum comes round.
 */
export async function foldPending(pool: DatabasePool, batchRows = FOLD_BATCH_ROWS): Promise<number> {
  let total = 0;
  for (;;) {
    const { folded } = await pool.one(foldQuery(batchRows));
    if (folded > 0) total += folded;
    if (folded < batchRows) break;
  }
  if (total >= VACUUM_AFTER_ROWS) await pool.query(sql.unsafe`VACUUM job_rollup_pending`);
  return total;
}

/**
 * Folds the pending rows every `intervalMs`, so reads stay a few rollup rows plus a small pending
 * table. Readers are exact whether or not this runs; it only keeps them fast.
 */
export function startFoldLoop(pool: DatabasePool, intervalMs: number, events: RepeatEvents) {
  // A batch that fails (a statement timeout, say) is retried a quarter the size; success doubles it back.
  let batch = FOLD_BATCH_ROWS;
  return repeat(
    () =>
      foldPending(pool, batch).then(
        (rows) => {
          batch = Math.min(FOLD_BATCH_ROWS, batch * 2);
          return rows;
        },
        (error: unknown) => {
          batch = Math.max(FOLD_MIN_BATCH_ROWS, Math.floor(batch / 4));
          throw error;
        },
      ),
    intervalMs,
    events,
  );
}
