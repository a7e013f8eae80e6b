import type { DatabasePool } from 'slonik';
import type { ExecutionList } from '../schemas/execution-list.ts';
import { encodeCursor } from './cursor.ts';
import { executionListQuery, type ExecutionListFilter } from './execution-list-query.ts';

/** A bigint's digits as a number where one holds it exactly, else as a BigInt (written as its digits). */
const jsonInteger = (digits: string): number | bigint => {
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : BigInt(digits);
};

/** The drill-down: the executions behind a number, one keyset page at a time. */
export function createExecutionListRepository(db: DatabasePool, options: { retentionDays?: number } = {}) {
  return {
    async listExecutions(filter: ExecutionListFilter): Promise<ExecutionList> {
      const rows = await db.any(executionListQuery(filter, options.retentionDays));
      const first = rows[0]!;
      const found = rows.filter((row) => row.id_text !== null);
      const page = found.slice(0, filter.limit);
      const last = page.at(-1);
      return {
        window: { hours: filter.hours, from: first.window_from, to: first.window_to },
        executions: page.map((row) => ({
          id: jsonInteger(row.id_text!),
          job_id: jsonInteger(row.job_id_text!),
          attempt: row.attempt!,
          worker: row.worker!,
          queue: row.queue,
          state: row.state!,
          cancel_reason: row.cancel_reason,
          results: row.results ?? null,
          duration_ms: row.duration_ms,
          inserted_at: row.inserted_at!,
        })),
        next_cursor:
          found.length > filter.limit && last
            ? encodeCursor({ insertedAtUs: BigInt(last.inserted_at_us!), id: BigInt(last.id_text!) })
            : null,
        ...(first.horizon === null ? {} : { pruned: { before: first.horizon, earliest_raw_row: first.earliest_raw_row } }),
      };
    },
  };
}

export type ExecutionListRepository = ReturnType<typeof createExecutionListRepository>;
