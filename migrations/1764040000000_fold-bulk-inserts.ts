import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Bulk inserts fold themselves: an INSERT (or COPY) of more than 10,000 rows adds them to the
 * rollups in its own transaction, under the fold lock, instead of leaving them for the fold loop;
 * smaller statements append to job_rollup_pending as before. `job_metrics.insert_fold_rows` (a
 * setting of the session, role or database) moves the line. Only the insert trigger's function
 * changes. Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764040000000_fold-bulk-inserts.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
