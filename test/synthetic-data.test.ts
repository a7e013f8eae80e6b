import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { DEMO_JOB_IDS, DEMO_ROWS, ensureDemoData, SHOWTIME_WORKER } from '../src/demo/demo-data.ts';
import { REASON_SHARES, seedSyntheticRows, STATE_SHARES, workerNames } from '../src/demo/synthetic-data.ts';
import { startTestDatabase } from './helpers/database.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const ROWS = 20_000;

const Shape = z.object({
  total: z.number(),
  cancelled: z.number(),
  states: z.record(z.string(), z.number()),
  movie: z.number(),
  null_key: z.number(),
  json_null: z.number(),
  sql_null: z.number(),
  other_reasons: z.record(z.string(), z.number()).nullable(),
  workers: z.record(z.string(), z.number()),
  null_durations: z.number(),
  p50: z.number(),
  max_duration: z.number(),
  oldest_days: z.number(),
  future: z.number(),
  time_order: z.number(),
});

t.test('the synthetic rows have the seed distribution', async (t) => {
  await ensureDemoData(db.pool);
  await seedSyntheticRows(db.pool, { rows: ROWS, days: 90, workers: 12, batchSize: 7_000 });
  const notDemo = sql.fragment`job_id NOT BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}`;
  const s = await db.pool.one(sql.type(Shape)`
    WITH r AS (SELECT * FROM job_execution_summaries WHERE ${notDemo})
    SELECT
      count(*) AS total,
      count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
      (SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) AS n FROM r GROUP BY state) x) AS states,
      count(*) FILTER (WHERE state = 'cancelled' AND results ->> 'cancel_reason' = 'movie not matched') AS movie,
      count(*) FILTER (WHERE state = 'cancelled' AND results IS NOT NULL AND NOT results ? 'cancel_reason') AS null_key,
      count(*) FILTER (WHERE state = 'cancelled' AND results -> 'cancel_reason' = 'null'::jsonb) AS json_null,
      count(*) FILTER (WHERE state = 'cancelled' AND results IS NULL) AS sql_null,
      (SELECT jsonb_object_agg(reason, n) FROM (
        SELECT results ->> 'cancel_reason' AS reason, count(*) AS n FROM r
        WHERE state = 'cancelled' AND results ->> 'cancel_reason' IS NOT NULL
          AND results ->> 'cancel_reason' <> 'movie not matched'
        GROUP BY 1) x) AS other_reasons,
      (SELECT jsonb_object_agg(worker, n) FROM (SELECT worker, count(*) AS n FROM r GROUP BY worker) x) AS workers,
      count(*) FILTER (WHERE duration_ms IS NULL) AS null_durations,
      percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
      max(duration_ms) AS max_duration,
      extract(epoch FROM now() - min(inserted_at)) / 86400 AS oldest_days,
      count(*) FILTER (WHERE inserted_at > now()) AS future,
      corr(id, extract(epoch FROM inserted_at)) AS time_order
    FROM r
  `);
  const near = (found: number, want: number, tolerance: number, what: string) =>
    t.ok(Math.abs(found - want) <= tolerance, `${what}: ${found.toFixed(4)} ≈ ${want} (± ${tolerance})`);

  t.equal(s.total, ROWS, 'every row inserted');
  for (const [state, share] of Object.entries(STATE_SHARES)) near((s.states[state] ?? 0) / ROWS, share, 0.01, state);
  near(s.movie / s.cancelled, REASON_SHARES['movie not matched'], 0.015, 'movie not matched of cancelled');
  near((s.null_key + s.json_null + s.sql_null) / s.cancelled, 0.198, 0.015, 'NULL reasons of cancelled');
  for (const form of ['null_key', 'json_null', 'sql_null'] as const) near(s[form] / s.cancelled, 0.066, 0.01, form);
  const others = Object.values(s.other_reasons ?? {}).reduce((a, b) => a + b, 0);
  near(others / s.cancelled, 0.002, 0.0015, 'other reasons of cancelled');
  t.ok(Object.keys(s.other_reasons ?? {}).length >= 3, `a few other reasons: ${Object.keys(s.other_reasons ?? {})}`);
  t.same(Object.keys(s.workers).sort(), workerNames(12).sort(), 'every worker appears');
  near((s.workers[SHOWTIME_WORKER] ?? 0) / ROWS, 0.7, 0.02, 'the big worker');
  t.ok(Math.min(...Object.values(s.workers)) < ROWS * 0.01, 'and small ones');
  near(s.null_durations / ROWS, 0.01, 0.005, 'NULL durations');
  t.ok(s.max_duration > 20 * s.p50, `a long tail: max ${s.max_duration} ms vs p50 ${s.p50} ms`);
  t.ok(s.oldest_days <= 90 && s.oldest_days > 89, `spread over 90 days (oldest ${s.oldest_days.toFixed(2)})`);
  t.equal(s.future, 0, 'nothing in the future');
  t.ok(s.time_order > 0.999, `appended in time order (corr(id, inserted_at) = ${s.time_order})`);
  const demo = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*) AS n FROM job_execution_summaries WHERE job_id BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}
  `);
  t.equal(demo, DEMO_ROWS, 'the demo rows are untouched');
});

t.test('job ids never collide: above existing ones, never in the demo range', async (t) => {
  await insertRows(db.pool, [{ job_id: DEMO_JOB_IDS.from - 10, worker: 'w', state: 'completed', age_s: 1 }]);
  const first = await seedSyntheticRows(db.pool, { rows: 100, days: 1, workers: 2 });
  t.equal(first.firstJobId, DEMO_JOB_IDS.to + 1, 'jumps over the demo range');
  const again = await seedSyntheticRows(db.pool, { rows: 100, days: 1, workers: 2 });
  t.equal(again.firstJobId, first.lastJobId + 1, 'a second seed continues after the first');
  const inDemo = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*) AS n FROM job_execution_summaries
    WHERE job_id BETWEEN ${DEMO_JOB_IDS.from} AND ${DEMO_JOB_IDS.to}
  `);
  t.equal(inDemo, DEMO_ROWS, 'only the demo rows are in the demo range');
});
