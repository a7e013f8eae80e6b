import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { rowExecutions } from './rollup/row-executions.ts';

/** A rollup row that still counts something: corrections that delete every row leave zeros behind. */
const COUNTED = sql.fragment`${rowExecutions('r')} > 0`;

/**
 * `s.worker = worker`, said so that a plan expects few rows to match: only then does it read the
 * worker index. Planned without the name's value (a generic plan, or per outer row), PostgreSQL
 * expects 1 row in n to match, and with few workers a backward scan of idx_job_summaries_inserted_at,
 * checking each row's worker, looked as cheap: for a name with no rows, or rows only long ago, it
 * reads the whole table (6 plans in 100 with 2 or 3 workers, test/indexes.test.ts). The redundant
 * range adds the planner's default selectivity for a range it cannot see (0.5 %), and the index
 * reads it as one more bound on the same key.
 */
const sameWorker = (worker: string | FragmentSqlToken) =>
  sql.fragment`s.worker = ${worker} AND s.worker >= ${worker} AND s.worker <= ${worker}`;

export const WorkerRow = z.object({ worker: z.string(), last_seen: z.string() });

/**
 * Every worker that has a row, with its newest execution; code-point order, never a locale's.
 * A loose index scan on idx_job_summaries_worker_inserted_at: two index probes per worker instead
 * of reading the whole table (docs/EXPLAIN.md, "workers-list"). A worker whose raw rows were all
 * pruned lives on in the month rollups (a row per worker and month), last seen in its newest hour.
 */
export const workersQuery = () => sql.type(WorkerRow)`
  WITH RECURSIVE names AS (
    (SELECT worker FROM job_execution_summaries ORDER BY worker LIMIT 1)
    UNION ALL
    SELECT (SELECT s.worker FROM job_execution_summaries s WHERE s.worker > n.worker ORDER BY s.worker LIMIT 1)
    FROM names n
    WHERE n.worker IS NOT NULL
  ),
  every_name AS (
    SELECT worker FROM names WHERE worker IS NOT NULL
    UNION
    SELECT r.worker FROM job_rollups r WHERE r.grain = 'month' AND r.worker IS NOT NULL AND ${COUNTED}
  )
  SELECT n.worker, coalesce(
      (SELECT max(s.inserted_at) FROM job_execution_summaries s WHERE ${sameWorker(sql.fragment`n.worker`)}),
      (SELECT max(r.bucket) FROM job_rollups r WHERE r.grain = 'hour' AND r.worker = n.worker AND ${COUNTED})) AS last_seen
  FROM every_name n
  ORDER BY n.worker COLLATE "C"
`;

/**
 * Whether a worker has ever been seen (raw rows, or rollups once pruned): the difference between 404
 * and an idle 200. The system (no worker) always is.
 *
 * Asked as max(), not EXISTS: a prepared statement's generic plan expects a worker to hold 1/n of
 * the rows, and for EXISTS a scan that stops at the first match then looks cheaper than the index.
 * A name with no rows, or rows only at the table's end, was scanned for the whole table: 0.8 s a
 * read at 14.7M rows. A max() from a seq scan must read everything, so the index always wins.
 */
export const workerKnown = (worker?: string) => worker === undefined ? sql.fragment`true` : sql.fragment`(
  (SELECT max(s.inserted_at) FROM job_execution_summaries s WHERE ${sameWorker(worker)}) IS NOT NULL
  OR (SELECT max(r.bucket) FROM job_rollups r WHERE r.grain = 'month' AND r.worker = ${worker} AND ${COUNTED}) IS NOT NULL)`;

export const workerExistsQuery = (worker: string) => sql.type(z.object({ known: z.boolean() }))`SELECT ${workerKnown(worker)} AS known`;
