DROP TRIGGER job_rollup_delete ON job_execution_summaries;
CREATE TRIGGER job_rollup_delete AFTER DELETE ON job_execution_summaries
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  WHEN (current_setting('job_metrics.pruning', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION job_rollup_on_delete();

-- One row once anything was pruned: raw rows before pruned_before are gone (the rollups keep them).
CREATE TABLE job_retention (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  pruned_before timestamptz NOT NULL,
  last_run_at timestamptz NOT NULL,
  last_run_rows bigint NOT NULL DEFAULT 0,
  pruned_rows bigint NOT NULL DEFAULT 0
);
