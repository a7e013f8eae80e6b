import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The trigger and fold functions search their own schema for their tables, not the writer's
 * search_path: a writer whose sessions do not search it could not insert a row. Frozen: the SQL is
 * the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764080000000_functions-own-search-path.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
