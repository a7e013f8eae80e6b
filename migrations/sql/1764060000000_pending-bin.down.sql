
  ALTER TABLE job_rollup_pending DROP COLUMN bin;
