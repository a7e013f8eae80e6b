-- Rows stamped at the ends of PostgreSQL's time range. A row in the last week of November 4714 BC
-- (the first instant is 4714-11-24 BC) has no month start that a timestamptz can hold: its pending
-- row made every fold fail ("timestamp out of range"), so the folder never drained again. Its month
-- bucket is now that first instant. A row in the last minute, hour, day or month of 294276 has no
-- next bucket: every later UPDATE or DELETE failed where the applier recomputed a bucket's max over
-- [bucket, next bucket), and so did any UPDATE or DELETE of a row in its last minute. Those ranges
-- now end at their last microsecond, the range's own end for the last buckets, and an infinite
-- bucket (rows stamped +-infinity) is the one instant it holds: it used to be an empty range, so
-- deleting such a row's max left its bucket's max empty. Bodies as before otherwise; their
-- SECURITY DEFINER and search_path (1764080000000, 1764090000000) are given again, since CREATE OR
-- REPLACE resets them.

CREATE OR REPLACE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL::integer)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
  END $function$;

CREATE OR REPLACE FUNCTION job_rollup_on_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
          date_bin('1 day', ten, timestamptz '2000-01-01 00:00:00+00') AS day, CASE WHEN isfinite(ten) AND ten < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', ten, 'UTC') END AS month
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
  END $function$;

CREATE OR REPLACE FUNCTION job_rollup_on_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))),
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
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))),
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:59:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE r.bucket + interval '1 minute' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'minute' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-01 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE date_trunc('month', (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', 'UTC') - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $function$;

CREATE OR REPLACE FUNCTION job_rollup_on_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o),
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
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o),
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:59:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE r.bucket + interval '1 minute' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'minute' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-01 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE date_trunc('month', (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', 'UTC') - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $function$;

CREATE OR REPLACE FUNCTION job_rollup_forget_ten_seconds()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
        AND bucket <= (SELECT max(m) FROM unnest(minutes) m) + interval '50 seconds'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
      DELETE FROM job_rollup_reasons
      WHERE grain = 'ten_seconds' AND bucket >= (SELECT min(m) FROM unnest(minutes) m)
        AND bucket <= (SELECT max(m) FROM unnest(minutes) m) + interval '50 seconds'
        AND date_bin('1 minute', bucket, timestamptz '2000-01-01 00:00:00+00') = ANY (minutes);
    END IF;
    RETURN NULL;
  END $function$;

DO $$
DECLARE
  home text := (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.oid = 'job_rollup_on_insert()'::regprocedure);
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY['job_rollup_on_insert()', 'job_rollup_on_update()', 'job_rollup_on_delete()',
                            'job_rollup_forget_ten_seconds()', 'job_rollup_fold(integer)'] LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SECURITY DEFINER', home, fn);
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = %I, pg_temp', home, fn, home);
  END LOOP;
END $$;
