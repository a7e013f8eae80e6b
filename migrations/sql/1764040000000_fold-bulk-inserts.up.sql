
  -- A statement of up to 10,000 rows appends them to job_rollup_pending, as before: cheap, no lock.
  -- A bigger one (a bulk load by SQL or COPY) adds them to the rollups itself, under the fold lock,
  -- in its own transaction, as job_rollup_fold() would: readers never sum a backlog the fold has to
  -- catch up on, which costs every read in proportion to its size (0.2-2 s at 500k rows). The
  -- statement pays for it (about 2x the time of an INSERT with no trigger, against 1.15x for the
  -- append; docs/BENCHMARKS.md), work the fold would otherwise do a moment later. A loader that
  -- prefers to leave that work to the fold sets job_metrics.insert_fold_rows (a number of rows; a
  -- value that is not a number counts as unset) for its session, role or database. A writer role
  -- that may only append (no SELECT, INSERT and UPDATE on the rollups) keeps appending.
  CREATE OR REPLACE FUNCTION job_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    limit_rows bigint;
    fold_here boolean := false;
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
  changes AS (SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n),
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
  changes AS (SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n),
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
    RETURN NULL;
  END $fn$;
