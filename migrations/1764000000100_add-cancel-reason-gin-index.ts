import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * The seed's index, kept faithful. It serves containment (`results -> 'cancel_reason' @> '"x"'`),
 * not the `->> =` equality the seed's own query uses: docs/EXPLAIN.md has the measurements.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(
    pgm,
    'idx_job_summaries_cancel_reason',
    `ON job_execution_summaries USING GIN ((results -> 'cancel_reason'))`,
  );
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_cancel_reason');
}
