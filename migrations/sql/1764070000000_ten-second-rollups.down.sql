
  DROP TRIGGER job_rollup_update_ten_seconds ON job_execution_summaries;
  DROP TRIGGER job_rollup_delete_ten_seconds ON job_execution_summaries;
  DROP FUNCTION job_rollup_forget_ten_seconds();

  -- The fold and the insert trigger's function as migration 1764050000000 left them.
  CREATE OR REPLACE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $fn$
  DECLARE
    folded bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(7301964118);
    -- Minutes older than 792 hours serve no window's edge any more (reads use the last 768).
    DELETE FROM job_rollups WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    DELETE FROM job_rollup_reasons WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    WITH
      changed AS (
        DELETE FROM job_rollup_pending
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM job_rollup_pending LIMIT max_rows))
        RETURNING inserted_at, worker, state, reason, duration_ms),
      fine AS (
        SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') AS minute, worker, state, reason,
               job_rollup_bin(duration_ms) AS bin, count(*) AS n, sum(duration_ms::bigint) AS dur_sum,
               max(duration_ms) AS dur_max, max(inserted_at) AS latest
        FROM changed GROUP BY 1, 2, 3, 4, 5
      ),
      spread AS (
        SELECT f.*, date_bin('1 hour', f.minute, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', f.minute, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', f.minute, 'UTC') AS month
        FROM fine f
      ),
      binned AS (
        SELECT CASE WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain,
          worker, coalesce(minute, hour, day, month) AS bucket, bin,
          sum(n) FILTER (WHERE state = 'completed') AS completed,
          sum(n) FILTER (WHERE state = 'retryable') AS retryable,
          sum(n) FILTER (WHERE state = 'discarded') AS discarded,
          sum(n) FILTER (WHERE state = 'cancelled') AS cancelled,
          sum(n) FILTER (WHERE state = 'snoozed') AS snoozed,
          sum(n) AS n, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
        FROM spread GROUP BY GROUPING SETS (
          (minute, worker, bin), (minute, bin),
          (hour, worker, bin), (hour, bin),
          (day, worker, bin), (day, bin),
          (month, worker, bin), (month, bin))
      ),
      stats AS (
        INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
        SELECT grain, worker, bucket,
          coalesce(sum(completed), 0),
          coalesce(sum(retryable), 0),
          coalesce(sum(discarded), 0),
          coalesce(sum(cancelled), 0),
          coalesce(sum(snoozed), 0),
          coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
          job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n::bigint) FILTER (WHERE bin IS NOT NULL)),
          max(latest)
        FROM binned
        WHERE grain <> 'minute' OR bucket >= now() - interval '792 hours'
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
          latest = greatest(r.latest, EXCLUDED.latest)
      ),
      reasons AS (
        INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
        SELECT grain, worker, bucket, reason, n FROM (
          SELECT CASE WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain,
            worker, coalesce(minute, hour, day, month) AS bucket, reason, sum(n) AS n
          FROM spread WHERE state = 'cancelled'
          GROUP BY GROUPING SETS (
            (minute, worker, reason), (minute, reason),
            (hour, worker, reason), (hour, reason),
            (day, worker, reason), (day, reason),
            (month, worker, reason), (month, reason))
        ) x
        WHERE grain <> 'minute' OR bucket >= now() - interval '792 hours'
        ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
        ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
      )
      SELECT coalesce(sum(n), 0) FROM fine
    INTO folded;
    RETURN folded;
  END $fn$;

  -- As in migration 1764040000000, but a statement that folds its own rows uses the statement above.
  CREATE OR REPLACE FUNCTION job_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    limit_rows bigint;
    fold_here boolean := false;
    folded bigint;
  BEGIN
    limit_rows := CASE WHEN current_setting('job_metrics.insert_fold_rows', true) ~ '^[0-9]{1,15}$'
                       THEN current_setting('job_metrics.insert_fold_rows', true)::bigint ELSE 10000 END;
    IF (SELECT count(*) FROM (SELECT FROM new_rows LIMIT limit_rows + 1) n) > limit_rows THEN
      fold_here := has_table_privilege('job_rollups', 'SELECT') AND has_table_privilege('job_rollups', 'INSERT')
        AND has_table_privilege('job_rollups', 'UPDATE') AND has_table_privilege('job_rollup_reasons', 'SELECT')
        AND has_table_privilege('job_rollup_reasons', 'INSERT') AND has_table_privilege('job_rollup_reasons', 'UPDATE');
    END IF;
    IF NOT fold_here THEN
      INSERT INTO job_rollup_pending (inserted_at, worker, state, reason, duration_ms)
      SELECT n.inserted_at, n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms
      FROM new_rows n;
      RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(7301964118);
    WITH
      changed AS (SELECT n.inserted_at, n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason,
          n.duration_ms
        FROM new_rows n),
      fine AS (
        SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') AS minute, worker, state, reason,
               job_rollup_bin(duration_ms) AS bin, count(*) AS n, sum(duration_ms::bigint) AS dur_sum,
               max(duration_ms) AS dur_max, max(inserted_at) AS latest
        FROM changed GROUP BY 1, 2, 3, 4, 5
      ),
      spread AS (
        SELECT f.*, date_bin('1 hour', f.minute, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', f.minute, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', f.minute, 'UTC') AS month
        FROM fine f
      ),
      binned AS (
        SELECT CASE WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain,
          worker, coalesce(minute, hour, day, month) AS bucket, bin,
          sum(n) FILTER (WHERE state = 'completed') AS completed,
          sum(n) FILTER (WHERE state = 'retryable') AS retryable,
          sum(n) FILTER (WHERE state = 'discarded') AS discarded,
          sum(n) FILTER (WHERE state = 'cancelled') AS cancelled,
          sum(n) FILTER (WHERE state = 'snoozed') AS snoozed,
          sum(n) AS n, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
        FROM spread GROUP BY GROUPING SETS (
          (minute, worker, bin), (minute, bin),
          (hour, worker, bin), (hour, bin),
          (day, worker, bin), (day, bin),
          (month, worker, bin), (month, bin))
      ),
      stats AS (
        INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
        SELECT grain, worker, bucket,
          coalesce(sum(completed), 0),
          coalesce(sum(retryable), 0),
          coalesce(sum(discarded), 0),
          coalesce(sum(cancelled), 0),
          coalesce(sum(snoozed), 0),
          coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
          job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n::bigint) FILTER (WHERE bin IS NOT NULL)),
          max(latest)
        FROM binned
        WHERE grain <> 'minute' OR bucket >= now() - interval '792 hours'
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
          latest = greatest(r.latest, EXCLUDED.latest)
      ),
      reasons AS (
        INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
        SELECT grain, worker, bucket, reason, n FROM (
          SELECT CASE WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain,
            worker, coalesce(minute, hour, day, month) AS bucket, reason, sum(n) AS n
          FROM spread WHERE state = 'cancelled'
          GROUP BY GROUPING SETS (
            (minute, worker, reason), (minute, reason),
            (hour, worker, reason), (hour, reason),
            (day, worker, reason), (day, reason),
            (month, worker, reason), (month, reason))
        ) x
        WHERE grain <> 'minute' OR bucket >= now() - interval '792 hours'
        ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
        ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
      )
      SELECT coalesce(sum(n), 0) FROM fine
    INTO folded;
    RETURN NULL;
  END $fn$;

  DELETE FROM job_rollups WHERE grain = 'ten_seconds';
  DELETE FROM job_rollup_reasons WHERE grain = 'ten_seconds';
  DROP INDEX job_rollup_reasons_ten_seconds;
  ALTER TABLE job_rollups DROP CONSTRAINT job_rollups_grain_check,
    ADD CONSTRAINT job_rollups_grain_check CHECK (grain IN ('minute', 'hour', 'day', 'month'));
  ALTER TABLE job_rollup_reasons DROP CONSTRAINT job_rollup_reasons_grain_check,
    ADD CONSTRAINT job_rollup_reasons_grain_check CHECK (grain IN ('minute', 'hour', 'day', 'month'));
