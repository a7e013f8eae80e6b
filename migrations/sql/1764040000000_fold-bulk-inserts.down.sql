
  CREATE OR REPLACE FUNCTION job_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO job_rollup_pending (inserted_at, worker, state, reason, duration_ms)
    SELECT n.inserted_at, n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms
    FROM new_rows n;
    RETURN NULL;
  END $fn$;
