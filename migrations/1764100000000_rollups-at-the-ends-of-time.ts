import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The fold and the UPDATE/DELETE appliers work with rows stamped at the ends of PostgreSQL's range:
 * a row of late November 4714 BC stopped every fold, one of December 294276 every UPDATE and DELETE.
 * Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764100000000_rollups-at-the-ends-of-time.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
