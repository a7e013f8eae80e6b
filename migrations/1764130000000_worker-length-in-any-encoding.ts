import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The worker name's length checked in characters whatever the database's encoding: a SQL_ASCII
 * database counted bytes. Replaced NOT VALID in one transaction, then validated after it commits,
 * so writers wait only for the swap, not for the scan of every row. Frozen: the SQL is the text in
 * ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764130000000_worker-length-in-any-encoding.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
  await pgm.db.query('BEGIN');
  try {
    await pgm.db.query(sqlFile('up'));
    await pgm.db.query('COMMIT');
  } catch (error) {
    await pgm.db.query('ROLLBACK');
    throw error;
  }
  await pgm.db.query('ALTER TABLE job_execution_summaries VALIDATE CONSTRAINT job_execution_summaries_worker_check');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
