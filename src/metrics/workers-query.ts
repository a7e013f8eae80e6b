import { sql } from 'slonik';
import { z } from 'zod';

export const WorkerRow = z.object({ worker: z.string(), last_seen: z.string() });

/** Every worker that has a row, with its newest execution; code-point order, never a locale's. */
export const workersQuery = () => sql.type(WorkerRow)`
  SELECT worker, max(inserted_at) AS last_seen
  FROM job_execution_summaries
  GROUP BY worker
  ORDER BY worker COLLATE "C"
`;

/** Whether a worker has ever been seen: the difference between 404 and an idle 200. */
export const workerExistsQuery = (worker: string) => sql.type(z.object({ known: z.boolean() }))`
  SELECT EXISTS (SELECT 1 FROM job_execution_summaries WHERE worker = ${worker}) AS known
`;
