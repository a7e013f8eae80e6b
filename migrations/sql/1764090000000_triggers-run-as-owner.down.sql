-- The triggers and the fold run with their caller's privileges again.
ALTER FUNCTION job_rollup_on_insert() SECURITY INVOKER;
ALTER FUNCTION job_rollup_on_update() SECURITY INVOKER;
ALTER FUNCTION job_rollup_on_delete() SECURITY INVOKER;
ALTER FUNCTION job_rollup_on_truncate() SECURITY INVOKER;
ALTER FUNCTION job_rollup_forget_ten_seconds() SECURITY INVOKER;
ALTER FUNCTION job_rollup_fold(integer) SECURITY INVOKER;
