import { sql, type DatabaseConnection } from 'slonik';
import { z } from 'zod';
import type { Execution, IngestResult } from '../schemas/executions.ts';

/**
 * One statement per batch: the items travel as one jsonb array and are inserted in
 * (job_id, attempt) order, so concurrent batches that overlap take their row locks in the same
 * order and cannot deadlock. A pair already stored (or repeated in the batch) is left as it was.
 *
 * `results` absent or null becomes SQL NULL (jsonb_to_recordset maps JSON null to NULL), so the
 * contract's "reason unknown" reads the same whether a row came through here or through plain SQL.
 * `inserted_at` is parsed by PostgreSQL from the RFC 3339 text, keeping microseconds.
 */
export function insertExecutionsQuery(executions: readonly Execution[]) {
  return sql.type(z.object({ inserted: z.number().int() }))`
    WITH inserted AS (
      INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
      SELECT job_id, coalesce(attempt, 1), worker, queue, state, results, duration_ms, coalesce(inserted_at, now())
      FROM jsonb_to_recordset(${JSON.stringify(executions)}::jsonb) AS item (
        job_id bigint, attempt integer, worker text, queue text, state text,
        results jsonb, duration_ms integer, inserted_at timestamptz
      )
      ORDER BY job_id, coalesce(attempt, 1)
      ON CONFLICT (job_id, attempt) DO NOTHING
      RETURNING 1
    )
    SELECT count(*)::int AS inserted FROM inserted
  `;
}

/** Tries per batch: a deadlock rolls the whole statement back, so running it again is safe. */
const ATTEMPTS = 3;

const isDeadlock = (error: unknown) =>
  [error, (error as { cause?: unknown }).cause].some((e) => (e as { code?: unknown } | undefined)?.code === '40P01');

/**
 * Batches of this service cannot deadlock one another, but a writer using plain SQL may take the
 * same keys in another order inside its own transaction; PostgreSQL then aborts one side.
 */
export async function insertExecutions(db: DatabaseConnection, executions: readonly Execution[]): Promise<IngestResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const inserted = await db.oneFirst(insertExecutionsQuery(executions));
      return { inserted, duplicates: executions.length - inserted };
    } catch (error) {
      if (attempt >= ATTEMPTS || !isDeadlock(error)) throw error;
    }
  }
}
