
  -- Ten-second rollups for the last 26 hours, so a window starting in a dense minute (a burst of
  -- 30k rows a minute, say) reads under ten seconds of raw rows at its start, not up to half a
  -- minute. The fold and the bulk insert path write them beside the minutes (rows stamped within 26
  -- hours are grouped per ten seconds first); the fold deletes older ones. The fold's statement now
  -- sums counts and maxima per (ten seconds, worker) and histogram bins on their own, not every
  -- column per bin: with ten-second groups that took twice the time (1.03 -> 2.03 s for 200,000
  -- rows in the last hour), split it takes 1.6 s (docs/BENCHMARKS.md). The UPDATE/DELETE appliers do
  -- not keep ten-second rows: a reader uses a minute's ten-second rows only when their counts sum to
  -- the minute's row, and an UPDATE or DELETE drops those of each minute it touches
  -- (job_rollup_forget_ten_seconds), so a minute changed since is read as before.

  -- Writers wait while the pending rows are folded (by the fold as it was) and the last 26 hours
  -- summed into ten-second rows from the raw rows, at the end; readers pass.
  LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE;
  SELECT job_rollup_fold();

  ALTER TABLE job_rollups DROP CONSTRAINT job_rollups_grain_check,
    ADD CONSTRAINT job_rollups_grain_check CHECK (grain IN ('ten_seconds', 'minute', 'hour', 'day', 'month'));
  ALTER TABLE job_rollup_reasons DROP CONSTRAINT job_rollup_reasons_grain_check,
    ADD CONSTRAINT job_rollup_reasons_grain_check CHECK (grain IN ('ten_seconds', 'minute', 'hour', 'day', 'month'));
  CREATE INDEX job_rollup_reasons_ten_seconds ON job_rollup_reasons (bucket) WHERE grain = 'ten_seconds';

  CREATE OR REPLACE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $fn$
  DECLARE
    folded bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(7301964118);
    -- Minutes older than 792 hours serve no window's edge any more (reads use the last 768), nor
    -- ten seconds older than 26 hours (reads use the last 24).
    DELETE FROM job_rollups WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    DELETE FROM job_rollup_reasons WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    DELETE FROM job_rollups WHERE grain = 'ten_seconds' AND bucket < now() - interval '26 hours';
    DELETE FROM job_rollup_reasons WHERE grain = 'ten_seconds' AND bucket < now() - interval '26 hours';
    WITH
      changed AS (
        DELETE FROM job_rollup_pending
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM job_rollup_pending LIMIT max_rows))
        RETURNING inserted_at, worker, state, reason, duration_ms),
      fine AS (
        SELECT date_bin(CASE WHEN inserted_at >= now() - interval '26 hours' THEN interval '10 seconds' ELSE interval '1 minute' END,
                 inserted_at, timestamptz '2000-01-01 00:00:00+00') AS ten, worker, state, reason,
               job_rollup_bin(duration_ms) AS bin, count(*) AS n, count(duration_ms) AS durations, sum(duration_ms::bigint) AS dur_sum,
               max(duration_ms) AS dur_max, max(inserted_at) AS latest
        FROM changed GROUP BY 1, 2, 3, 4, 5
      ),
      totals AS (
        SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set,
          coalesce(sum(n) FILTER (WHERE state = 'completed'), 0) AS completed,
          coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0) AS retryable,
          coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0) AS discarded,
          coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0) AS cancelled,
          coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0) AS snoozed,
          sum(durations) AS dur_count, coalesce(sum(dur_sum), 0) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
        FROM (
          SELECT ten, worker, state, sum(n) AS n, sum(durations) AS durations, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max,
            max(latest) AS latest, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
          FROM fine GROUP BY ten, worker, state
        ) f
        GROUP BY GROUPING SETS (
          (ten, worker), (ten),
            (minute, worker), (minute),
            (hour, worker), (hour),
            (day, worker), (day),
            (month, worker), (month))
      ),
      hists AS (
        SELECT set, bucket, worker COLLATE "C" AS worker, array_agg(ARRAY[bin, n::integer] ORDER BY bin) AS hist
        FROM (
          SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set, bin, sum(n) AS n
          FROM (
            SELECT ten, worker, bin, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
            FROM fine WHERE bin IS NOT NULL GROUP BY ten, worker, bin
          ) f
          GROUP BY GROUPING SETS (
            (ten, bin, worker), (ten, bin),
            (minute, bin, worker), (minute, bin),
            (hour, bin, worker), (hour, bin),
            (day, bin, worker), (day, bin),
            (month, bin, worker), (month, bin))
        ) b
        GROUP BY set, bucket, worker COLLATE "C"
      ),
      stats AS (
        INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
        SELECT t.grain, t.worker, t.bucket, t.completed, t.retryable, t.discarded, t.cancelled, t.snoozed,
          t.dur_count, t.dur_sum, t.dur_max, coalesce(h.hist, '{}'), t.latest
        FROM totals t
        LEFT JOIN hists h ON h.set = t.set AND h.bucket = t.bucket AND (h.worker IS NULL) = (t.worker IS NULL)
          AND coalesce(h.worker, '') = coalesce(t.worker, '')
        WHERE (t.grain <> 'minute' OR t.bucket >= now() - interval '792 hours')
          AND (t.grain <> 'ten_seconds' OR t.bucket >= now() - interval '26 hours')
        ORDER BY t.grain, t.worker COLLATE "C", t.bucket
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
          SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set, reason, sum(n) AS n
          FROM (
            SELECT ten, worker, reason, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
            FROM fine WHERE state = 'cancelled' GROUP BY ten, worker, reason
          ) f
          GROUP BY GROUPING SETS (
            (ten, reason, worker), (ten, reason),
            (minute, reason, worker), (minute, reason),
            (hour, reason, worker), (hour, reason),
            (day, reason, worker), (day, reason),
            (month, reason, worker), (month, reason))
        ) x
        WHERE (grain <> 'minute' OR bucket >= now() - interval '792 hours')
          AND (grain <> 'ten_seconds' OR bucket >= now() - interval '26 hours')
        ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
        ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
      )
      SELECT coalesce(sum(n), 0) FROM fine
    INTO folded;
    RETURN folded;
  END $fn$;

  -- As in migration 1764050000000, with the statement above for a statement that folds its own rows.
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
        SELECT date_bin(CASE WHEN inserted_at >= now() - interval '26 hours' THEN interval '10 seconds' ELSE interval '1 minute' END,
                 inserted_at, timestamptz '2000-01-01 00:00:00+00') AS ten, worker, state, reason,
               job_rollup_bin(duration_ms) AS bin, count(*) AS n, count(duration_ms) AS durations, sum(duration_ms::bigint) AS dur_sum,
               max(duration_ms) AS dur_max, max(inserted_at) AS latest
        FROM changed GROUP BY 1, 2, 3, 4, 5
      ),
      totals AS (
        SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set,
          coalesce(sum(n) FILTER (WHERE state = 'completed'), 0) AS completed,
          coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0) AS retryable,
          coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0) AS discarded,
          coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0) AS cancelled,
          coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0) AS snoozed,
          sum(durations) AS dur_count, coalesce(sum(dur_sum), 0) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
        FROM (
          SELECT ten, worker, state, sum(n) AS n, sum(durations) AS durations, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max,
            max(latest) AS latest, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
          FROM fine GROUP BY ten, worker, state
        ) f
        GROUP BY GROUPING SETS (
          (ten, worker), (ten),
            (minute, worker), (minute),
            (hour, worker), (hour),
            (day, worker), (day),
            (month, worker), (month))
      ),
      hists AS (
        SELECT set, bucket, worker COLLATE "C" AS worker, array_agg(ARRAY[bin, n::integer] ORDER BY bin) AS hist
        FROM (
          SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set, bin, sum(n) AS n
          FROM (
            SELECT ten, worker, bin, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
            FROM fine WHERE bin IS NOT NULL GROUP BY ten, worker, bin
          ) f
          GROUP BY GROUPING SETS (
            (ten, bin, worker), (ten, bin),
            (minute, bin, worker), (minute, bin),
            (hour, bin, worker), (hour, bin),
            (day, bin, worker), (day, bin),
            (month, bin, worker), (month, bin))
        ) b
        GROUP BY set, bucket, worker COLLATE "C"
      ),
      stats AS (
        INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
        SELECT t.grain, t.worker, t.bucket, t.completed, t.retryable, t.discarded, t.cancelled, t.snoozed,
          t.dur_count, t.dur_sum, t.dur_max, coalesce(h.hist, '{}'), t.latest
        FROM totals t
        LEFT JOIN hists h ON h.set = t.set AND h.bucket = t.bucket AND (h.worker IS NULL) = (t.worker IS NULL)
          AND coalesce(h.worker, '') = coalesce(t.worker, '')
        WHERE (t.grain <> 'minute' OR t.bucket >= now() - interval '792 hours')
          AND (t.grain <> 'ten_seconds' OR t.bucket >= now() - interval '26 hours')
        ORDER BY t.grain, t.worker COLLATE "C", t.bucket
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
          SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
            WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
          GROUPING(ten, minute, hour, day, month) AS set, reason, sum(n) AS n
          FROM (
            SELECT ten, worker, reason, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
            FROM fine WHERE state = 'cancelled' GROUP BY ten, worker, reason
          ) f
          GROUP BY GROUPING SETS (
            (ten, reason, worker), (ten, reason),
            (minute, reason, worker), (minute, reason),
            (hour, reason, worker), (hour, reason),
            (day, reason, worker), (day, reason),
            (month, reason, worker), (month, reason))
        ) x
        WHERE (grain <> 'minute' OR bucket >= now() - interval '792 hours')
          AND (grain <> 'ten_seconds' OR bucket >= now() - interval '26 hours')
        ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
        ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
      )
      SELECT coalesce(sum(n), 0) FROM fine
    INTO folded;
    RETURN NULL;
  END $fn$;

  -- Fires after the applier of the same event (triggers fire in name order), which has folded the
  -- pending rows and changed the minutes by deltas: the ten-second rows of every minute holding a
  -- changed row, before or after the change, go. Only the last 27 hours can hold any a reader or an
  -- audit uses.
  CREATE FUNCTION job_rollup_forget_ten_seconds() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    minutes timestamptz[];
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      minutes := ARRAY(
        SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM old_rows WHERE inserted_at >= now() - interval '27 hours'
        UNION SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM new_rows WHERE inserted_at >= now() - interval '27 hours');
    ELSE
      minutes := ARRAY(
        SELECT DISTINCT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM old_rows WHERE inserted_at >= now() - interval '27 hours');
    END IF;
    IF cardinality(minutes) > 0 THEN
      PERFORM pg_advisory_xact_lock(7301964118);
      DELETE FROM job_rollups
      WHERE grain = 'ten_seconds' AND bucket >= (SELECT min(m) FROM unnest(minutes) m)
        AND bucket < (SELECT max(m) FROM unnest(minutes) m) + interval '1 minute'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
      DELETE FROM job_rollup_reasons
      WHERE grain = 'ten_seconds' AND bucket >= (SELECT min(m) FROM unnest(minutes) m)
        AND bucket < (SELECT max(m) FROM unnest(minutes) m) + interval '1 minute'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
    END IF;
    RETURN NULL;
  END $fn$;
  CREATE TRIGGER job_rollup_update_ten_seconds AFTER UPDATE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION job_rollup_forget_ten_seconds();
  CREATE TRIGGER job_rollup_delete_ten_seconds AFTER DELETE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (current_setting('job_metrics.pruning', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION job_rollup_forget_ten_seconds();

  -- Every row is folded and no writer runs: the ten-second rows of the last 26 hours, as the fold
  -- writes them, make every recent minute whole from the start.
  WITH
    changed AS (SELECT s.inserted_at, s.worker, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason,
        s.duration_ms
      FROM job_execution_summaries s WHERE s.inserted_at >= now() - interval '26 hours'),
    fine AS (
      SELECT date_bin(CASE WHEN inserted_at >= now() - interval '26 hours' THEN interval '10 seconds' ELSE interval '1 minute' END,
               inserted_at, timestamptz '2000-01-01 00:00:00+00') AS ten, worker, state, reason,
             job_rollup_bin(duration_ms) AS bin, count(*) AS n, count(duration_ms) AS durations, sum(duration_ms::bigint) AS dur_sum,
             max(duration_ms) AS dur_max, max(inserted_at) AS latest
      FROM changed GROUP BY 1, 2, 3, 4, 5
    ),
    totals AS (
      SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
          WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
        GROUPING(ten, minute, hour, day, month) AS set,
        coalesce(sum(n) FILTER (WHERE state = 'completed'), 0) AS completed,
        coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0) AS retryable,
        coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0) AS discarded,
        coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0) AS cancelled,
        coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0) AS snoozed,
        sum(durations) AS dur_count, coalesce(sum(dur_sum), 0) AS dur_sum, max(dur_max) AS dur_max, max(latest) AS latest
      FROM (
        SELECT ten, worker, state, sum(n) AS n, sum(durations) AS durations, sum(dur_sum) AS dur_sum, max(dur_max) AS dur_max,
          max(latest) AS latest, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
        date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
        FROM fine GROUP BY ten, worker, state
      ) f
      GROUP BY GROUPING SETS (
        (ten, worker), (ten),
          (minute, worker), (minute),
          (hour, worker), (hour),
          (day, worker), (day),
          (month, worker), (month))
    ),
    hists AS (
      SELECT set, bucket, worker COLLATE "C" AS worker, array_agg(ARRAY[bin, n::integer] ORDER BY bin) AS hist
      FROM (
        SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
          WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
        GROUPING(ten, minute, hour, day, month) AS set, bin, sum(n) AS n
        FROM (
          SELECT ten, worker, bin, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
        date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
          FROM fine WHERE bin IS NOT NULL GROUP BY ten, worker, bin
        ) f
        GROUP BY GROUPING SETS (
          (ten, bin, worker), (ten, bin),
          (minute, bin, worker), (minute, bin),
          (hour, bin, worker), (hour, bin),
          (day, bin, worker), (day, bin),
          (month, bin, worker), (month, bin))
      ) b
      GROUP BY set, bucket, worker COLLATE "C"
    ),
    stats AS (
      INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
      SELECT t.grain, t.worker, t.bucket, t.completed, t.retryable, t.discarded, t.cancelled, t.snoozed,
        t.dur_count, t.dur_sum, t.dur_max, coalesce(h.hist, '{}'), t.latest
      FROM totals t
      LEFT JOIN hists h ON h.set = t.set AND h.bucket = t.bucket AND (h.worker IS NULL) = (t.worker IS NULL)
        AND coalesce(h.worker, '') = coalesce(t.worker, '')
      WHERE t.grain = 'ten_seconds' AND (t.grain <> 'minute' OR t.bucket >= now() - interval '792 hours')
        AND (t.grain <> 'ten_seconds' OR t.bucket >= now() - interval '26 hours')
      ORDER BY t.grain, t.worker COLLATE "C", t.bucket
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
        SELECT CASE WHEN GROUPING(ten) = 0 THEN 'ten_seconds' WHEN GROUPING(minute) = 0 THEN 'minute' WHEN GROUPING(hour) = 0 THEN 'hour'
          WHEN GROUPING(day) = 0 THEN 'day' ELSE 'month' END AS grain, coalesce(ten, minute, hour, day, month) AS bucket, worker,
        GROUPING(ten, minute, hour, day, month) AS set, reason, sum(n) AS n
        FROM (
          SELECT ten, worker, reason, sum(n) AS n, date_bin('1 minute', ten, timestamptz '2000-01-01 00:00:00+00') AS minute, date_bin('1 hour', ten, timestamptz '2000-01-01 00:00:00+00') AS hour,
        date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, date_trunc('month', ten, 'UTC') AS month
          FROM fine WHERE state = 'cancelled' GROUP BY ten, worker, reason
        ) f
        GROUP BY GROUPING SETS (
          (ten, reason, worker), (ten, reason),
          (minute, reason, worker), (minute, reason),
          (hour, reason, worker), (hour, reason),
          (day, reason, worker), (day, reason),
          (month, reason, worker), (month, reason))
      ) x
      WHERE grain = 'ten_seconds' AND (grain <> 'minute' OR bucket >= now() - interval '792 hours')
        AND (grain <> 'ten_seconds' OR bucket >= now() - interval '26 hours')
      ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
      ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
    )
    SELECT coalesce(sum(n), 0) AS added FROM fine;
