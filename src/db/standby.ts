import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/**
 * A background writer (the fold, pruning) met a standby: a read replica answers every read exactly
 * as of its replay point, and the primary's own writers keep its rollups and prunes.
 */
export class StandbyError extends Error {
  constructor() {
    super('the database is a standby (in recovery, read-only): the primary does this');
    this.name = 'StandbyError';
  }
}

const inRecovery = sql.type(z.object({ standby: z.boolean() }))`SELECT pg_is_in_recovery() AS standby`;

/**
 * `task`, unless the database is a standby: then StandbyError, without a statement the server
 * would refuse and log every second (and ANALYZE, the fold's first step, cannot run there at all).
 */
export async function onPrimary<T>(pool: DatabasePool, task: () => Promise<T>): Promise<T> {
  if ((await pool.one(inRecovery)).standby) throw new StandbyError();
  return task();
}
