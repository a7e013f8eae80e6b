import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * One worker's window (worker metrics, the drill-down by worker in keyset order) and "has this
 * worker ever been seen" (the 404 check), which is otherwise a full scan for an unknown name.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(
    pgm,
    'idx_job_summaries_worker_inserted_at',
    'ON job_execution_summaries (worker, inserted_at, id)',
  );
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_worker_inserted_at');
}
