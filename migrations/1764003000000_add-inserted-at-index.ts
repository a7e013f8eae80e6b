import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * Every window (`inserted_at > now() - hours`) and the drill-down's newest-first keyset order
 * `(inserted_at, id) DESC` without other filters. docs/EXPLAIN.md has the measurements.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(pgm, 'idx_job_summaries_inserted_at', 'ON job_execution_summaries (inserted_at, id)');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_inserted_at');
}
