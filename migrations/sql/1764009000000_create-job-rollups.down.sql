
  DROP TRIGGER IF EXISTS job_rollup_insert ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_update ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_delete ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_truncate ON job_execution_summaries;
  DROP FUNCTION IF EXISTS job_rollup_on_insert(), job_rollup_on_update(), job_rollup_on_delete(), job_rollup_on_truncate(),
    job_rollup_fold(integer), job_rollup_hist(integer[], bigint[]), job_rollup_hist_add(integer[], integer[]), job_rollup_bin(integer);
  DROP TABLE IF EXISTS job_rollups, job_rollup_reasons, job_rollup_pending;
  DROP FUNCTION IF EXISTS job_rollup_reason_key(text);
