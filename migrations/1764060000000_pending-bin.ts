import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Pending rows keep their duration's histogram bin (a stored generated column), so reads during a
 * backlog group them without working each bin out again. Nothing else changes: every writer names
 * its columns. Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764060000000_pending-bin.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
