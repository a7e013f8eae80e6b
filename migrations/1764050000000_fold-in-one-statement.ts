import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The fold in one statement, twice as fast: pending rows are grouped once and summed into every
 * grain and scope by GROUPING SETS, instead of grouped twice and copied eight times. The rollup rows
 * are the same. `job_rollup_fold()` and the insert trigger's bulk path change; nothing else does.
 * Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764050000000_fold-in-one-statement.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
