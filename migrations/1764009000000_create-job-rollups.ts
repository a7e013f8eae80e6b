import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Rollups per hour, day and month, kept exact by statement-level triggers (src/metrics/rollup/).
 * Frozen: the SQL is the text in ./sql/ (written out from the code as released at 4301c9c), never
 * generated from code that can change. One transaction of our own, so the backfill can report
 * progress: writers wait while the existing rows are summed (SHARE ROW EXCLUSIVE lets readers
 * through), so nothing is counted twice or missed.
 */
const sqlFile = (part: 'up' | 'down' | 'backfill') =>
  readFileSync(new URL(`./sql/1764009000000_create-job-rollups.${part}.sql`, import.meta.url), 'utf8');

/** One UTC month of raw rows per batch; the bounds are computed without `date_add` (PostgreSQL 16+). */
const MONTHS = `
  SELECT m AS month_start, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' AS month_end, n::int AS n
  FROM (SELECT date_trunc('month', inserted_at, 'UTC') AS m, count(*) AS n FROM job_execution_summaries GROUP BY 1) g
  ORDER BY m`;

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
  await pgm.db.query('BEGIN');
  try {
    await pgm.db.query('LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE');
    await pgm.db.query(sqlFile('down')); // leftovers of a run that committed but was not recorded
    await pgm.db.query(sqlFile('up'));
    const { rows } = await pgm.db.query(MONTHS);
    const total = rows.reduce((sum, row) => sum + Number(row.n), 0);
    const statements = sqlFile('backfill').split(/^;$/m);
    let done = 0;
    for (const [index, row] of rows.entries()) {
      for (const statement of statements) await pgm.db.query(statement, [row.month_start, row.month_end]);
      done += Number(row.n);
      // Small tables (tests, demo data) backfill in a blink; a real one says how far it got.
      if (total >= 100_000) {
        const month = new Date(row.month_start).toISOString().slice(0, 7);
        process.stderr.write(`rollup backfill: ${month} done (${index + 1}/${rows.length} months, ${done}/${total} rows)\n`);
      }
    }
    await pgm.db.query('COMMIT');
  } catch (error) {
    await pgm.db.query('ROLLBACK');
    throw error;
  }
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
