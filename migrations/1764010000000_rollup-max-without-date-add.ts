import { readFileSync } from 'node:fs';
import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The UPDATE and DELETE triggers recompute a bucket's max over [bucket, bucket + 1 grain) in UTC.
 * They did so with `date_add(…, 'UTC')`, which PostgreSQL 15 lacks (it came in 16): the first
 * UPDATE or DELETE on 15 failed. `(bucket AT TIME ZONE 'UTC' + interval) AT TIME ZONE 'UTC'` is the
 * same instant on every version. Frozen: the SQL is the text in ./sql/.
 */
const sqlFile = (part: 'up' | 'down') =>
  readFileSync(new URL(`./sql/1764010000000_rollup-max-without-date-add.${part}.sql`, import.meta.url), 'utf8');

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('up'));
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(sqlFile('down'));
}
