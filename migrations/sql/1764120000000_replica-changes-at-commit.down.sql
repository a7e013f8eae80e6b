-- Back to 1764110000000: each replica-mode row applied on its own.
DROP TRIGGER job_rollup_replica_commit ON job_execution_summaries;
DROP FUNCTION job_rollup_apply_replica_changes();
DROP TABLE job_rollup_replica_changes;

CREATE OR REPLACE FUNCTION job_rollup_on_update_row()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'minute' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) n
             WHERE NOT EXISTS (SELECT 1 FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
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

CREATE OR REPLACE FUNCTION job_rollup_on_delete_row()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o),
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
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o),
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
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:59:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE r.bucket + interval '1 minute' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('minute', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'minute' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'minute' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 23:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 hour') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-31 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE (r.bucket AT TIME ZONE 'UTC' + interval '1 day') AT TIME ZONE 'UTC' - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
      SELECT CASE WHEN isfinite(inserted_at) AND inserted_at < timestamptz '4714-12-01 00:00:00+00 BC' THEN timestamptz '4714-11-24 00:00:00+00 BC' ELSE date_trunc('month', inserted_at, 'UTC') END AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket <= CASE WHEN NOT isfinite(r.bucket) THEN r.bucket WHEN r.bucket >= timestamptz '294276-12-01 00:00:00+00' THEN timestamptz '294276-12-31 23:59:59.999999+00' ELSE date_trunc('month', (r.bucket AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', 'UTC') - interval '1 microsecond' END)
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) o), removed AS (
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

CREATE FUNCTION job_rollup_forget_ten_seconds_row()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  DECLARE
    minutes timestamptz[];
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      minutes := ARRAY(
        SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) old_row WHERE inserted_at >= now() - interval '27 hours'
        UNION SELECT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM (SELECT NEW.id AS id, NEW.worker AS worker, NEW.state AS state, NEW.results AS results, NEW.duration_ms AS duration_ms, NEW.inserted_at AS inserted_at) new_row WHERE inserted_at >= now() - interval '27 hours');
    ELSE
      minutes := ARRAY(
        SELECT DISTINCT date_bin('1 minute', inserted_at, timestamptz '2000-01-01 00:00:00+00') FROM (SELECT OLD.id AS id, OLD.worker AS worker, OLD.state AS state, OLD.results AS results, OLD.duration_ms AS duration_ms, OLD.inserted_at AS inserted_at) old_row WHERE inserted_at >= now() - interval '27 hours');
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
  FOREACH fn IN ARRAY ARRAY['job_rollup_on_update_row()', 'job_rollup_on_delete_row()', 'job_rollup_forget_ten_seconds_row()'] LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SECURITY DEFINER', home, fn);
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = %I, pg_temp', home, fn, home);
  END LOOP;
END $$;

CREATE TRIGGER job_rollup_update_ten_seconds_row AFTER UPDATE ON job_execution_summaries
  FOR EACH ROW EXECUTE FUNCTION job_rollup_forget_ten_seconds_row();
CREATE TRIGGER job_rollup_delete_ten_seconds_row AFTER DELETE ON job_execution_summaries
  FOR EACH ROW WHEN (current_setting('job_metrics.pruning', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION job_rollup_forget_ten_seconds_row();
ALTER TABLE job_execution_summaries
  ENABLE REPLICA TRIGGER job_rollup_update_ten_seconds_row,
  ENABLE REPLICA TRIGGER job_rollup_delete_ten_seconds_row;
