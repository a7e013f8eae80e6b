DROP TABLE job_retention;
DROP TRIGGER job_rollup_delete ON job_execution_summaries;
CREATE TRIGGER job_rollup_delete AFTER DELETE ON job_execution_summaries
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_delete();
