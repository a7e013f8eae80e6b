-- A writer granted INSERT (UPDATE, DELETE, TRUNCATE) on job_execution_summaries and nothing else
-- could not write a row: the triggers wrote the rollup tables with the writer's privileges
-- ("permission denied for table job_rollup_pending"). They, and the fold they call, now run with
-- their owner's, the role that migrated the database (SECURITY DEFINER). Their search_path is their
-- own schema and pg_temp since 1764080000000, as such a function's must be; a later migration that
-- replaces one of them must keep both clauses.
DO $$
DECLARE
  home text := (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.oid = 'job_rollup_on_insert()'::regprocedure);
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY['job_rollup_on_insert()', 'job_rollup_on_update()', 'job_rollup_on_delete()',
                            'job_rollup_on_truncate()', 'job_rollup_forget_ten_seconds()', 'job_rollup_fold(integer)'] LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SECURITY DEFINER', home, fn);
  END LOOP;
END $$;
