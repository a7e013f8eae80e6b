import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Retention: a DELETE made by the pruner (it sets `job_metrics.pruning = 'on'` for its own
 * transaction) leaves the rollups as they are, so they keep the history of the rows it removes; any
 * other DELETE still takes its rows out of every rollup. The trigger function is untouched: only
 * the trigger gains a WHEN, which a statement-level trigger may use when it names no column.
 * `job_retention` records how far raw rows were pruned, for readers and the doctor.
 * Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764030000000_prune-keeps-rollups.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
