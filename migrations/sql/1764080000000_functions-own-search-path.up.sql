-- The trigger and fold functions name their tables without a schema, so they were looked up on the
-- writer's search_path: a job system whose sessions do not search this schema could not insert a
-- row at all ("relation job_rollup_pending does not exist"). Each now searches its own schema (then
-- pg_temp, so no temporary table can stand in for one of ours), whatever the caller's path. A
-- later migration that replaces one of them must give it the same SET clause.
DO $$
DECLARE
  home text := (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.oid = 'job_rollup_on_insert()'::regprocedure);
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY['job_rollup_on_insert()', 'job_rollup_on_update()', 'job_rollup_on_delete()',
                            'job_rollup_on_truncate()', 'job_rollup_forget_ten_seconds()', 'job_rollup_fold(integer)'] LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = %I, pg_temp', home, fn, home);
  END LOOP;
END $$;
