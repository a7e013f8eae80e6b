import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * The drill-down into Unknown (cancelled, `results ->> 'cancel_reason' IS NULL`) in keyset order:
 * a page of 50 reads 50 index entries instead of sorting every unknown row in the window.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(
    pgm,
    'idx_job_summaries_unknown_reason',
    `ON job_execution_summaries (inserted_at, id) WHERE state = 'cancelled' AND results ->> 'cancel_reason' IS NULL`,
  );
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_unknown_reason');
}
