/**
 * The indexes this release's migrations create, with the question each one serves.
 * `npm run doctor` and the rollback plan check that every one exists and is valid. The seed's GIN
 * index (idx_job_summaries_cancel_reason) is not among them: migration 1764003000400 drops it.
 */
export const EXPECTED_INDEXES = [
  {
    name: 'idx_job_summaries_inserted_at',
    table: 'job_execution_summaries',
    serves: 'every metrics window and the drill-down in (inserted_at, id) order',
  },
  {
    name: 'idx_job_summaries_worker_inserted_at',
    table: 'job_execution_summaries',
    serves: "one worker's window, its drill-down, and the unknown-worker 404 check",
  },
  {
    name: 'idx_job_summaries_cancelled_reason',
    table: 'job_execution_summaries',
    serves: 'the drill-down by cancel reason, and a lookup of any reason by its 200-character prefix',
  },
  {
    name: 'idx_job_summaries_unknown_reason',
    table: 'job_execution_summaries',
    serves: 'the drill-down into Unknown (cancelled, no reason) in (inserted_at, id) order',
  },
] as const;
