import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Every window's edges from rollups whatever the rate: minute rollups for the last 792 hours (so a
 * window's first raw read covers under a minute) and `latest` per rollup row (so the bucket holding
 * now() is read from its rollup row once none of its rows lies after now()). The fold, UPDATE and
 * DELETE functions write both; the fold also deletes minutes older than 792 hours. Existing pending
 * rows are folded first and the recent minutes summed from the raw rows while writers wait.
 * Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764020000000_rollup-minutes-and-latest.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
