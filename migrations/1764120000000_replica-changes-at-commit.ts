import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Replicated UPDATEs and DELETEs are recorded by their row triggers and applied once per
 * transaction, at commit, by a deferred constraint trigger: applied row by row, a purge of many
 * rows in one transaction grew quadratically. Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764120000000_replica-changes-at-commit.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
