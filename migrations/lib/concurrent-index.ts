import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Builds an index without blocking writers, in a migration that must run outside a transaction.
 * A failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index behind that `IF NOT EXISTS` would
 * then skip forever, so a re-run first drops its own invalid leftover.
 * @see https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
 */
export async function createIndexConcurrently(pgm: MigrationBuilder, name: string, definition: string): Promise<void> {
  pgm.noTransaction();
  const invalid = await pgm.db.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid`,
    [name],
  );
  if (invalid.rowCount) pgm.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  pgm.sql(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ${definition}`);
}

export function dropIndexConcurrently(pgm: MigrationBuilder, name: string): void {
  pgm.noTransaction();
  pgm.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}
