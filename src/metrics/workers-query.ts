import { sql } from 'slonik';
import { z } from 'zod';

export const WorkerRow = z.object({ worker: z.string(), last_seen: z.string() });

/**
 * Every worker that has a row, with its newest execution; code-point order, never a locale's.
 * A loose index scan on idx_job_summaries_worker_inserted_at: two index probes per worker instead
 * of reading the whole table (docs/EXPLAIN.md, "workers-list").
 */
export const workersQuery = () => sql.type(WorkerRow)`
  WITH RECURSIVE names AS (
    (SELECT worker FROM job_execution_summaries ORDER BY worker LIMIT 1)
    UNION ALL
    SELECT (SELECT s.worker FROM job_execution_summaries s WHERE s.worker > n.worker ORDER BY s.worker LIMIT 1)
    FROM names n
    WHERE n.worker IS NOT NULL
  )
  SELECT n.worker, (SELECT max(s.inserted_at) FROM job_execution_summaries s WHERE s.worker = n.worker) AS last_seen
  FROM names n
  WHERE n.worker IS NOT NULL
  ORDER BY n.worker COLLATE "C"
`;

/** Whether a worker has ever been seen: the difference between 404 and an idle 200. */
export const workerExistsQuery = (worker: string) => sql.type(z.object({ known: z.boolean() }))`
  SELECT EXISTS (SELECT 1 FROM job_execution_summaries WHERE worker = ${worker}) AS known
`;
