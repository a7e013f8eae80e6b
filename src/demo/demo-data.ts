import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { matchAttemptJson } from './match-attempt.ts';

/**
 * The demo data set reproduces the seed's evidence: 2,991 executions in the last day, 2,419 of
 * them cancelled — 1,935 "movie not matched", 479 with no reason (missing key, JSON null and NULL
 * results) and 5 others. Its rows are recognised by their job_id range, so a database that holds
 * anything else is never touched.
 *
 * The 1,935 "movie not matched" rows and the 100 completed showtime rows also carry their TMDB
 * match attempt (`title`, `candidate_title`, `tmdb_id`, `confidence`; docs/TMDB_THRESHOLD.md):
 * confidence below 50 for the unmatched, denser towards 50 (366 between 45 and 50), and from 50
 * to 99.9 for the matched.
 */
export const DEMO_JOB_IDS = { from: 9_000_000_000_000, to: 9_000_000_999_999 } as const;
export const DEMO_ROWS = 2_991;

export const SHOWTIME_WORKER = 'EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob';

const countsQuery = sql.type(z.object({ total: z.number(), demo: z.number() }))`
  SELECT count(*) AS total,
         count(*) FILTER (WHERE job_id BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}) AS demo
  FROM job_execution_summaries
`;

/**
 * Row i (1..2,991) gets its state and reason from its position, so the totals are exact; time,
 * worker and duration are shuffled so the day looks like a day. The rows span the last 23 hours,
 * ending a minute ago, so a 24-hour window still holds all of them for an hour after start.
 */
const insertDemo = sql.unsafe`
  INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
  SELECT
    ${DEMO_JOB_IDS.from}::bigint + i,
    CASE WHEN state = 'retryable' THEN 1 + i % 3 ELSE 1 END,
    CASE
      WHEN reason_kind IN ('movie', 'null_key', 'json_null', 'sql_null') OR state = 'completed' AND i % 3 = 0
        THEN ${SHOWTIME_WORKER}
      ELSE (ARRAY[
        'EventasaurusDiscovery.Sources.Cinema.Jobs.CinemaSyncJob',
        'EventasaurusDiscovery.Sources.Ticketmaster.Jobs.EventDetailJob',
        'EventasaurusApp.Workers.EmailWorker',
        'EventasaurusDiscovery.Sources.Bandsintown.Jobs.VenueSyncJob'
      ])[1 + i % 4]
    END,
    CASE WHEN i % 5 = 0 THEN 'scraper_detail' ELSE 'scraper' END,
    state,
    CASE reason_kind
      WHEN 'movie' THEN jsonb_build_object('cancel_reason', 'movie not matched', 'title', 'Film #' || i % 400)
      WHEN 'null_key' THEN jsonb_build_object('title', 'Film #' || i % 400)
      WHEN 'json_null' THEN jsonb_build_object('cancel_reason', null)
      WHEN 'sql_null' THEN NULL
      WHEN 'other' THEN jsonb_build_object('cancel_reason',
        (ARRAY['venue closed', 'venue closed', 'duplicate showtime', 'duplicate showtime', 'source rate limited'])[i - 2414])
      WHEN 'error' THEN jsonb_build_object('error', 'upstream timeout')
      ELSE jsonb_build_object('status', 'ok')
    END || CASE WHEN reason_kind = 'movie' OR state = 'completed' AND i % 3 = 0
      THEN ${matchAttemptJson(sql.fragment`state = 'completed'`, 400)} ELSE '{}'::jsonb END,
    CASE WHEN i % 97 = 0 THEN NULL
         ELSE round(exp(ln(450) + 0.9 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)))::int END,
    now() - interval '1 minute' - (interval '23 hours' * ((i * 1103) % ${DEMO_ROWS}) / ${DEMO_ROWS})
  FROM (
    SELECT
      i,
      CASE WHEN i <= 2419 THEN 'cancelled' WHEN i <= 2719 THEN 'completed' WHEN i <= 2819 THEN 'retryable'
           WHEN i <= 2919 THEN 'discarded' ELSE 'snoozed' END AS state,
      CASE WHEN i <= 1935 THEN 'movie' WHEN i <= 2095 THEN 'null_key' WHEN i <= 2255 THEN 'json_null'
           WHEN i <= 2414 THEN 'sql_null' WHEN i <= 2419 THEN 'other'
           WHEN i > 2719 AND i <= 2919 THEN 'error' ELSE 'none' END AS reason_kind,
      ((i * 7919) % 10007 + 1) / 10008.0 AS u1,
      ((i * 104729) % 9973) / 9973.0 AS u2
    FROM generate_series(1, ${DEMO_ROWS}) AS i
  ) AS demo
`;

export type DemoOutcome = 'loaded' | 'refreshed' | 'kept';

/**
 * Loads the demo set into an empty table, or reloads it to end now while the table holds only demo
 * rows (so a 24-hour window never goes stale). Any other row means the data is someone's: kept.
 */
export async function ensureDemoData(pool: DatabasePool): Promise<DemoOutcome> {
  return pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`LOCK TABLE job_execution_summaries IN SHARE ROW EXCLUSIVE MODE`);
    const { total, demo } = await tx.one(countsQuery);
    if (total !== demo) return 'kept';
    if (total > 0) {
      await tx.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}`);
    }
    await tx.query(insertDemo);
    return total > 0 ? 'refreshed' : 'loaded';
  });
}
