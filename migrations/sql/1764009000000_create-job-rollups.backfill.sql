WITH
  changes AS (SELECT s.worker, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms, s.inserted_at, 1 AS sign FROM job_execution_summaries s
    WHERE s.inserted_at >= $1::timestamptz AND s.inserted_at < $2::timestamptz),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist)
    SELECT grain, worker, bucket,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL))
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
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist)
;
WITH
  changes AS (SELECT s.worker, s.state, CASE WHEN s.state = 'cancelled' THEN s.results ->> 'cancel_reason' END AS reason, s.duration_ms, s.inserted_at, 1 AS sign FROM job_execution_summaries s
    WHERE s.inserted_at >= $1::timestamptz AND s.inserted_at < $2::timestamptz),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n
