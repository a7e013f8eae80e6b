import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Ten-second rollups for the last 26 hours, written by the fold and the bulk insert path (summed from
 * the raw rows once here, writers waiting), so a window starting in a dense minute reads under ten
 * seconds of raw rows there. Readers use a minute's ten-second rows only when they sum to the minute;
 * UPDATE and DELETE drop those of the minutes they touch. Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764070000000_ten-second-rollups.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
