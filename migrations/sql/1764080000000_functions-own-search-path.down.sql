-- The functions look their tables up on the caller's search_path again.
ALTER FUNCTION job_rollup_on_insert() RESET search_path;
ALTER FUNCTION job_rollup_on_update() RESET search_path;
ALTER FUNCTION job_rollup_on_delete() RESET search_path;
ALTER FUNCTION job_rollup_on_truncate() RESET search_path;
ALTER FUNCTION job_rollup_forget_ten_seconds() RESET search_path;
ALTER FUNCTION job_rollup_fold(integer) RESET search_path;
