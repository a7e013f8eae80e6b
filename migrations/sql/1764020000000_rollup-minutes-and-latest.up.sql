
  -- Writers wait while the pending rows are folded and the recent minutes summed; readers pass.
  LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE;
  SELECT job_rollup_fold();

  ALTER TABLE job_rollups DROP CONSTRAINT job_rollups_grain_check,
    ADD CONSTRAINT job_rollups_grain_check CHECK (grain IN ('minute', 'hour', 'day', 'month'));
  ALTER TABLE job_rollup_reasons DROP CONSTRAINT job_rollup_reasons_grain_check,
    ADD CONSTRAINT job_rollup_reasons_grain_check CHECK (grain IN ('minute', 'hour', 'day', 'month'));
  -- The latest inserted_at of a bucket's rows (an upper bound once rows are deleted): the bucket
  -- holding now() is whole when it is not after now(). Rows summed before it existed get their
  -- bucket's end where that lies ahead, so they are never taken for whole too early.
  ALTER TABLE job_rollups ADD COLUMN latest timestamptz;
  UPDATE job_rollups SET latest = CASE grain WHEN 'minute' THEN bucket + interval '1 minute' WHEN 'hour' THEN bucket + interval '1 hour' WHEN 'day' THEN bucket + interval '24 hours' ELSE (bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' END
  WHERE CASE grain WHEN 'minute' THEN bucket + interval '1 minute' WHEN 'hour' THEN bucket + interval '1 hour' WHEN 'day' THEN bucket + interval '24 hours' ELSE (bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' END > now();
  CREATE INDEX job_rollup_reasons_minutes ON job_rollup_reasons (bucket) WHERE grain = 'minute';
  CREATE OR REPLACE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $fn$
  DECLARE
    folding job_rollup_pending[];
  BEGIN
    PERFORM pg_advisory_xact_lock(7301964118);
    -- Minutes older than 792 hours serve no window's edge any more (reads use the last 768).
    DELETE FROM job_rollups WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    DELETE FROM job_rollup_reasons WHERE grain = 'minute' AND bucket < now() - interval '792 hours';
    WITH moved AS (
      DELETE FROM job_rollup_pending
      WHERE ctid = ANY (ARRAY(SELECT ctid FROM job_rollup_pending LIMIT max_rows))
      RETURNING job_rollup_pending AS pending_row
    )
    SELECT array_agg(pending_row) INTO folding FROM moved;
    IF folding IS NULL THEN RETURN 0; END IF;
    WITH 
  changes AS (SELECT u.worker, u.state, u.reason, u.duration_ms, u.inserted_at, 1 AS sign FROM unnest(folding) u),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
  changes AS (SELECT u.worker, u.state, u.reason, u.duration_ms, u.inserted_at, 1 AS sign FROM unnest(folding) u),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
    RETURN cardinality(folding);
  END $fn$;

  CREATE OR REPLACE FUNCTION job_rollup_on_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < r.bucket + interval '1 minute')
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
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC')
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
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC')
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
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC')
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $fn$;

  CREATE OR REPLACE FUNCTION job_rollup_on_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
    SELECT g.grain, k.worker, date_trunc(g.grain, f.minute, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
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
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < r.bucket + interval '1 minute')
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
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC')
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
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC')
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
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC')
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $fn$;
  WITH
  changes AS (SELECT s.worker, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms, s.inserted_at, 1 AS sign FROM job_execution_summaries s
    WHERE s.inserted_at >= now() - interval '792 hours'),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT 'minute' AS grain, k.worker, f.minute AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
    FROM fine f
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
    WHERE f.minute >= now() - interval '792 hours'
  )
  INSERT INTO job_rollups (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist, latest)
  SELECT grain, worker, bucket,
    coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
    coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
    coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
    coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
    coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
    coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
    job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL)), max(latest)
  FROM keyed
  GROUP BY grain, worker, bucket;
  WITH
  changes AS (SELECT s.worker, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms, s.inserted_at, 1 AS sign FROM job_execution_summaries s
    WHERE s.inserted_at >= now() - interval '792 hours'),
  fine AS (
    SELECT date_trunc('minute', inserted_at, 'UTC') AS minute, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max,
           max(inserted_at) FILTER (WHERE sign > 0) AS latest
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT 'minute' AS grain, k.worker, f.minute AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max, f.latest
    FROM fine f
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
    WHERE f.minute >= now() - interval '792 hours'
  )
  INSERT INTO job_rollup_reasons (grain, worker, bucket, reason, n)
  SELECT grain, worker, bucket, reason, sum(n)
  FROM keyed WHERE state = 'cancelled'
  GROUP BY grain, worker, bucket, reason;
