import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * The drill-down by cancel reason in keyset order, and the seed's `->> =` lookup when it adds the
 * prefix condition. Partial: only cancelled rows have a reason that counts. The key is the reason's
 * first 200 characters because a B-tree entry cannot exceed ~2.7 kB, and a writer that stores a
 * longer reason must never have its INSERT refused; queries add the exact equality as a filter.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(
    pgm,
    'idx_job_summaries_cancelled_reason',
    `ON job_execution_summaries (left(results ->> 'cancel_reason', 200), inserted_at, id)
      WHERE state = 'cancelled' AND results ->> 'cancel_reason' IS NOT NULL`,
  );
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_cancelled_reason');
}
