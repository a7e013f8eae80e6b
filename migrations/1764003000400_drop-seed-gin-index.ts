import type { MigrationBuilder } from 'node-pg-migrate';
import { createIndexConcurrently, dropIndexConcurrently } from './lib/concurrent-index.ts';

/**
 * The seed's GIN index on `results -> 'cancel_reason'` serves only containment (`@>`, `?`), which no
 * query of this service runs: not the seed's own `->> =` query, not the metrics, not the
 * drill-down (whose `->>` semantics `@>` cannot express: the number 42 reads "42"). It costs space
 * and every writer's INSERT. idx_job_summaries_cancelled_reason serves the reason lookups instead;
 * docs/EXPLAIN.md has the measurements. `down` puts the seed's index back as it was.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  dropIndexConcurrently(pgm, 'idx_job_summaries_cancel_reason');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  await createIndexConcurrently(
    pgm,
    'idx_job_summaries_cancel_reason',
    `ON job_execution_summaries USING GIN ((results -> 'cancel_reason'))`,
  );
}
