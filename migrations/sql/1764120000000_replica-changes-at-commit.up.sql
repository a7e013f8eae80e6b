-- Replicated UPDATEs and DELETEs applied once per transaction, not once per row. Since
-- 1764110000000 the row triggers enabled on replica ran the statement appliers' SQL for every row:
-- a subscription applies a publisher's transaction as one, so a purge of many rows updated the same
-- "every worker" month and day rollup rows once per row inside one transaction, and each update
-- walked the versions the earlier ones left: 62-65 ms a row for 500 rows in one transaction at 1M
-- rows (bench:replica-triggers), growing with the count. Now each row trigger only records the
-- changed row in job_rollup_replica_changes (signed, with its transaction), and a deferred
-- constraint trigger, enabled on replica too, applies the transaction's records at commit in one
-- pass: the delete applier's SQL over them (it already handles both signs), the ten-second rows of
-- their minutes dropped, the records deleted. A setting local to the transaction
-- (job_metrics.replica_changes) makes the commit-time firings after the first return at once.

CREATE TABLE job_rollup_replica_changes (
  xact        xid8        NOT NULL DEFAULT pg_current_xact_id(),
  sign        smallint    NOT NULL CHECK (sign IN (-1, 1)),
  worker      text        NOT NULL,
  state       text        NOT NULL,
  reason      text,
  duration_ms integer,
  inserted_at timestamptz NOT NULL
);
CREATE INDEX job_rollup_replica_changes_xact ON job_rollup_replica_changes (xact);

DROP TRIGGER job_rollup_update_ten_seconds_row ON job_execution_summaries;
DROP TRIGGER job_rollup_delete_ten_seconds_row ON job_execution_summaries;
DROP FUNCTION job_rollup_forget_ten_seconds_row();

CREATE OR REPLACE FUNCTION job_rollup_on_update_row()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    IF (OLD.worker, OLD.state, CASE WHEN OLD.state = 'cancelled' THEN OLD.results ->> 'cancel_reason' END, OLD.duration_ms, OLD.inserted_at) IS NOT DISTINCT FROM (NEW.worker, NEW.state, CASE WHEN NEW.state = 'cancelled' THEN NEW.results ->> 'cancel_reason' END, NEW.duration_ms, NEW.inserted_at) THEN
      RETURN NULL;
    END IF;
    INSERT INTO job_rollup_replica_changes (sign, worker, state, reason, duration_ms, inserted_at)
    VALUES (-1, OLD.worker, OLD.state, CASE WHEN OLD.state = 'cancelled' THEN OLD.results ->> 'cancel_reason' END, OLD.duration_ms, OLD.inserted_at), (1, NEW.worker, NEW.state, CASE WHEN NEW.state = 'cancelled' THEN NEW.results ->> 'cancel_reason' END, NEW.duration_ms, NEW.inserted_at);
    PERFORM set_config('job_metrics.replica_changes', 'waiting', true);
    RETURN NULL;
  END $function$;

CREATE OR REPLACE FUNCTION job_rollup_on_delete_row()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    INSERT INTO job_rollup_replica_changes (sign, worker, state, reason, duration_ms, inserted_at)
    VALUES (-1, OLD.worker, OLD.state, CASE WHEN OLD.state = 'cancelled' THEN OLD.results ->> 'cancel_reason' END, OLD.duration_ms, OLD.inserted_at);
    PERFORM set_config('job_metrics.replica_changes', 'waiting', true);
    RETURN NULL;
  END $function$;

CREATE FUNCTION job_rollup_apply_replica_changes()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  DECLARE
    minutes timestamptz[];
  BEGIN
    IF current_setting('job_metrics.replica_changes', true) IS DISTINCT FROM 'waiting' THEN
      RETURN NULL;
    END IF;
    PERFORM set_config('job_metrics.replica_changes', 'applied', true);
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, CASE WHEN g.grain = 'month' AND isfinite(f.minute) AND f.minute < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc(g.grain, f.minute, 'UTC') END AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
    FROM fine f
    CROSS JOIN (VALUES ('minute'), ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
    WHERE g.grain <> 'minute' OR f.minute >= now() - interval '792 hours'
  )
    INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
    SELECT grain, worker, bucket,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL)), max(latest)
    FROM keyed
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      completed = r.completed + EXCLUDED.completed,
      retryable = r.retryable + EXCLUDED.retryable,
      discarded = r.discarded + EXCLUDED.discarded,
      cancelled = r.cancelled + EXCLUDED.cancelled,
      snoozed = r.snoozed + EXCLUDED.snoozed,
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist),
      latest = greatest(r.latest, EXCLUDED.latest);
    WITH 
  changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, CASE WHEN g.grain = 'month' AND isfinite(f.minute) AND f.minute < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc(g.grain, f.minute, 'UTC') END AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
    FROM fine f
    CROSS JOIN (VALUES ('minute'), ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
    WHERE g.grain <> 'minute' OR f.minute >= now() - interval '792 hours'
  )
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:59:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE r.bucket + interval '1 minute' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'minute' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-01 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE date_trunc('month', (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', 'UTC') - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT worker, state, reason, duration_ms, inserted_at, sign FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id()), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    minutes := ARRAY(
      SELECT DISTINCT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM job_rollup_replica_changes
      WHERE xact = pg_current_xact_id() AND inserted_at >= now() - interval '27 hours');
    IF cardinality(minutes) > 0 THEN
      DELETE FROM job_rollups
      WHERE grain = 'ten_seconds' AND bucket >= (SELECT min(m) FROM unnest(minutes) m)
        AND bucket <= (SELECT max(m) FROM unnest(minutes) m) + interval '50 seconds'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
      DELETE FROM job_rollup_reasons
      WHERE grain = 'ten_seconds' AND bucket >= (SELECT min(m) FROM unnest(minutes) m)
        AND bucket <= (SELECT max(m) FROM unnest(minutes) m) + interval '50 seconds'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
    END IF;
    DELETE FROM job_rollup_replica_changes WHERE xact = pg_current_xact_id();
    RETURN NULL;
  END $function$;

DO $$
DECLARE
  home text := (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.oid = 'job_rollup_on_insert()'::regprocedure);
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY['job_rollup_on_update_row()', 'job_rollup_on_delete_row()', 'job_rollup_apply_replica_changes()'] LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SECURITY DEFINER', home, fn);
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = %I, pg_temp', home, fn, home);
  END LOOP;
END $$;

CREATE CONSTRAINT TRIGGER job_rollup_replica_commit AFTER UPDATE OR DELETE ON job_execution_summaries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION job_rollup_apply_replica_changes();
ALTER TABLE job_execution_summaries ENABLE REPLICA TRIGGER job_rollup_replica_commit;
