/**
 * The indexes this release's migrations create, with the question each one serves.
 * `npm run doctor` and the rollback plan check that every one exists and is valid.
 */
export const EXPECTED_INDEXES = [
  {
    name: 'idx_job_summaries_cancel_reason',
    table: 'job_execution_summaries',
    serves: "containment lookups on results -> 'cancel_reason' (@>), the seed's index",
  },
] as const;
