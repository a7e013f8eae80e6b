import type { MigrationBuilder } from 'node-pg-migrate';
import { backfillRollups } from '../src/metrics/rollup/backfill.ts';
import { CREATE_ROLLUPS_SQL, DROP_ROLLUPS_SQL } from '../src/metrics/rollup/rollup-ddl.ts';

/**
 * Rollups per hour, day and month, kept exact by statement-level triggers (src/metrics/rollup/).
 * One transaction of our own, so the backfill can report progress: writers wait while the existing
 * rows are summed (SHARE ROW EXCLUSIVE lets readers through), so nothing is counted twice or missed.
 */
/** Small tables (tests, demo data) backfill in a blink; a real one says how far it got. */
const progress = (message: string, totalRows: number) => {
  if (totalRows >= 100_000) process.stderr.write(`${message}\n`);
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
  await pgm.db.query('BEGIN');
  try {
    await pgm.db.query('LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE');
    await pgm.db.query(DROP_ROLLUPS_SQL); // leftovers of a run that committed but was not recorded
    await pgm.db.query(CREATE_ROLLUPS_SQL);
    await backfillRollups(pgm.db, progress);
    await pgm.db.query('COMMIT');
  } catch (error) {
    await pgm.db.query('ROLLBACK');
    throw error;
  }
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(DROP_ROLLUPS_SQL);
}
