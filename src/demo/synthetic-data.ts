import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { foldPending } from '../metrics/rollup/fold-loop.ts';
import { DEMO_JOB_IDS, SHOWTIME_WORKER } from './demo-data.ts';
import { matchAttemptJson } from './match-attempt.ts';

/**
 * Synthetic executions with the seed's shape, for benchmarks and EXPLAIN: ≈ 81 % cancelled, 80 % of
 * those "movie not matched", 19.8 % with no reason (missing key, JSON null and NULL results in equal
 * parts), 0.2 % a few other reasons down to a rare one; one big worker and a long tail of small
 * ones; log-normal durations with a heavy tail and 1 % unknown; times uniform over the last `days`, in
 * insertion order (row i is older than row i + 1, give or take a second), as a live table fills up.
 * The big worker's "movie not matched" and completed rows carry a TMDB match attempt (match-attempt.ts).
 */
export interface SyntheticOptions {
  rows: number;
  days: number;
  /** Distinct workers, the big ShowtimeProcessJob one included. */
  workers: number;
  batchSize?: number;
  /** Same seed, same rows (for the same batch size): benchmarks compare like with like. */
  seed?: number;
  onProgress?: (inserted: number, total: number) => void;
}

export const STATE_SHARES = { cancelled: 0.81, completed: 0.1, retryable: 0.033, discarded: 0.033, snoozed: 0.024 };

/** Shares of the cancelled rows. `unknown` is a literal reason, not a NULL: it must stay apart. */
export const REASON_SHARES = {
  'movie not matched': 0.8,
  null_key: 0.066,
  json_null: 0.066,
  sql_null: 0.066,
  'venue closed': 0.0008,
  'duplicate showtime': 0.0006,
  'source rate limited': 0.0004,
  unknown: 0.0002,
} as const;

export const RARE_REASON = 'source rate limited';
/** The big worker's share of all rows; the rest follow a Zipf law over the small workers. */
export const BIG_WORKER_SHARE = 0.7;

export const smallWorkerName = (rank: number) =>
  `EventasaurusDiscovery.Sources.Synthetic.Jobs.Worker${String(rank).padStart(3, '0')}`;

export function workerNames(workers: number): string[] {
  return [SHOWTIME_WORKER, ...Array.from({ length: Math.max(0, workers - 1) }, (_, i) => smallWorkerName(i + 1))];
}

/** Cumulative thresholds for width_bucket: u below thresholds[0] is bucket 0, and so on. */
function cumulative(shares: number[]): number[] {
  const total = shares.reduce((a, b) => a + b, 0);
  let sum = 0;
  return shares.slice(0, -1).map((share) => (sum += share / total));
}

function workerThresholds(workers: number): number[] {
  if (workers <= 1) return [];
  const zipf = Array.from({ length: workers - 1 }, (_, k) => 1 / (k + 1) ** 1.2);
  const total = zipf.reduce((a, b) => a + b, 0);
  return cumulative([BIG_WORKER_SHARE, ...zipf.map((w) => ((1 - BIG_WORKER_SHARE) * w) / total)]);
}

/** The first job id to use: above every existing one, and never inside the demo range. */
async function firstJobId(pool: DatabasePool, rows: number): Promise<number> {
  const max = await pool.oneFirst(sql.type(z.object({ max: z.number() }))`
    SELECT coalesce(max(job_id) FILTER (WHERE job_id NOT BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}), 0) AS max
    FROM job_execution_summaries
  `);
  const first = max + 1;
  return first + rows > DEMO_JOB_IDS.from && first <= DEMO_JOB_IDS.to ? Math.max(first, DEMO_JOB_IDS.to + 1) : first;
}

function batchInsert(first: number, from: number, to: number, rows: number, days: number, workers: string[]) {
  const states = Object.keys(STATE_SHARES);
  const reasons = Object.keys(REASON_SHARES);
  return sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
    SELECT
      ${first}::bigint + i,
      CASE WHEN state = 'retryable' THEN 1 + i % 3 ELSE 1 END,
      (${sql.array(workers, 'text')})[width_bucket(u_worker, ${sql.array(workerThresholds(workers.length), 'float8')}) + 1],
      CASE WHEN i % 50 = 0 THEN NULL WHEN i % 5 = 0 THEN 'scraper_detail' ELSE 'scraper' END,
      state,
      CASE
        WHEN state = 'cancelled' THEN CASE reason
          WHEN 'null_key' THEN jsonb_build_object('title', 'Film #' || i % 5000)
          WHEN 'json_null' THEN jsonb_build_object('cancel_reason', null, 'title', 'Film #' || i % 5000)
          WHEN 'sql_null' THEN NULL
          ELSE jsonb_build_object('cancel_reason', reason, 'title', 'Film #' || i % 5000)
        END
        WHEN state = 'completed' THEN jsonb_build_object('status', 'ok', 'showtimes', i % 40)
        WHEN state = 'snoozed' THEN jsonb_build_object('snooze', 60)
        ELSE jsonb_build_object('error', 'upstream timeout')
      END || CASE
        WHEN width_bucket(u_worker, ${sql.array(workerThresholds(workers.length), 'float8')}) = 0
          AND (state = 'completed' OR state = 'cancelled' AND reason = 'movie not matched')
        THEN ${matchAttemptJson(sql.fragment`state = 'completed'`, 5000)}
        ELSE '{}'::jsonb
      END,
      CASE WHEN u_duration < 0.01 THEN NULL
           -- log-normal around 450 ms, and one in fifty attempts 20× slower: the long tail
           ELSE least(round(exp(ln(450) + 0.9 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)) * CASE WHEN u_duration > 0.98 THEN 20 ELSE 1 END), 2e9)::int
      END,
      -- appended in time order, as a telemetry table is (ids and pages follow time), a second of jitter
      greatest(now() - make_interval(days => ${days}) + interval '1 second', least(now(),
        now() - make_interval(secs => ${days} * 86400.0 * (${rows}::bigint - i - u_time) / ${rows}::bigint)
        + make_interval(secs => u_jitter - 0.5)))
    FROM (
      SELECT
        i,
        (${sql.array(states, 'text')})[width_bucket(random(), ${sql.array(cumulative(Object.values(STATE_SHARES)), 'float8')}) + 1] AS state,
        (${sql.array(reasons, 'text')})[width_bucket(random(), ${sql.array(cumulative(Object.values(REASON_SHARES)), 'float8')}) + 1] AS reason,
        random() AS u_worker, random() AS u_duration, 1 - random() AS u1, random() AS u2,
        random() AS u_time, random() AS u_jitter
      FROM generate_series(${from}::bigint, ${to}::bigint) AS i
    ) AS g
  `;
}

/** Inserts `rows` rows in batches (one statement and transaction each), then ANALYZE; returns the job ids used. */
export async function seedSyntheticRows(pool: DatabasePool, options: SyntheticOptions) {
  const batchSize = options.batchSize ?? 250_000;
  const workers = workerNames(options.workers);
  const first = await firstJobId(pool, options.rows);
  for (let from = 0; from < options.rows; from += batchSize) {
    const to = Math.min(options.rows, from + batchSize) - 1;
    await pool.transaction(async (tx) => {
      // A statement this big folds its own rows (migration 1764040000000); with the default 4MB its
      // transition table spills to disk: 1M rows took 81 s, with 64MB 52 s.
      await tx.query(sql.unsafe`SET LOCAL work_mem = '64MB'`);
      await tx.query(sql.unsafe`SELECT setseed(${((options.seed ?? 42) * 7919 + from) % 1_000_003 / 1_000_003})`);
      await tx.query(batchInsert(first, from, to, options.rows, options.days, workers));
    });
    // Into the rollups at once, as a running service would: a bench must not start on a backlog.
    await foldPending(pool);
    options.onProgress?.(to + 1, options.rows);
  }
  // Fresh statistics, so the planner sees the new rows before autovacuum gets to them.
  await pool.query(sql.unsafe`ANALYZE job_execution_summaries`);
  return { firstJobId: first, lastJobId: first + options.rows - 1, workers };
}
