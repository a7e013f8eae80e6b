export const BIG_WORKER = 'EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob';
export const BENCH_WORKERS = 20;
export const SMALL_WORKER = 'Bench.Worker19';

/**
 * One INSERT … SELECT of job ids `from`…`to` with the seed's shape: ≈ 81 % cancelled, 80 % of those
 * "movie not matched", ≈ 20 % NULL reasons, 20 workers of which one has 70 % of the rows, log-normal
 * durations with a tail. `insertedAt` is an SQL expression of `i` (the job id).
 */
export const loadSql = (from: number, to: number, insertedAt: string) => `
  INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
  SELECT i, 1,
    CASE WHEN u_w < 0.7 THEN '${BIG_WORKER}' ELSE 'Bench.Worker' || (1 + floor(power(u_w2, 2) * ${BENCH_WORKERS - 1}))::int END,
    'scraper', state,
    CASE WHEN state <> 'cancelled' THEN jsonb_build_object('ok', state = 'completed')
         WHEN u_r < 0.80 THEN '{"cancel_reason": "movie not matched"}'
         WHEN u_r < 0.866 THEN '{"title": "x"}'
         WHEN u_r < 0.932 THEN '{"cancel_reason": null}'
         WHEN u_r < 0.998 THEN NULL
         WHEN u_r < 0.9992 THEN '{"cancel_reason": "venue closed"}'
         WHEN u_r < 0.9998 THEN '{"cancel_reason": "duplicate showtime"}'
         ELSE '{"cancel_reason": "unknown"}' END::jsonb,
    CASE WHEN u_d < 0.01 THEN NULL
         ELSE least(round(exp(ln(450) + 0.9 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)) * CASE WHEN u_d > 0.98 THEN 20 ELSE 1 END), 2e9)::int END,
    ${insertedAt}
  FROM (
    SELECT i, random() AS u_w, random() AS u_w2, random() AS u_r, random() AS u_d, 1 - random() AS u1, random() AS u2,
      (ARRAY['cancelled', 'completed', 'retryable', 'discarded', 'snoozed'])[width_bucket(random(), ARRAY[0.81, 0.91, 0.943, 0.976])+1] AS state
    FROM generate_series(${from}, ${to}) AS i
  ) g`;
