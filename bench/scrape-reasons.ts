/**
 * npm run bench:scrape-reasons -- [--rows N] [--months M] [--reasons R] [--scrapes K]
 * GET /metrics when cancel reasons embed ids: a fresh embedded PostgreSQL gets N rows over a year
 * with the seed's shape (default 200,000), then R cancelled rows of one worker in each of the last M
 * months (defaults 200,000 and 5), each with a reason of its own, one INSERT per month (a bulk
 * insert folds its own rows). Times the two statements a scrape can run, alternated (ranking every
 * reason of every month, and counting the reasons an earlier ranking chose), checks they answer the
 * same, then K scrapes of the service (the first one ranks). Prints a Markdown section.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { rankedCountersQuery, workerCountersQuery } from '../src/metrics/prometheus/counters-query.ts';
import { pgQuery } from './lib/plan.ts';
import { quantile } from './lib/random-windows.ts';
import { loadSql } from './lib/seed-shape.ts';
import { machine } from './lib/seeded-database.ts';
import { startService } from './service.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    months: { type: 'string', default: '5' },
    reasons: { type: 'string', default: '200000' },
    scrapes: { type: 'string', default: '20' },
  },
});
const [ROWS, MONTHS, REASONS, SCRAPES] = [values.rows, values.months, values.reasons, values.scrapes].map(Number) as [number, number, number, number];
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-scrape-reasons-'));
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const admin = new pg.Client({ connectionString: server.url });
let service: Awaited<ReturnType<typeof startService>> | undefined;
try {
  await admin.connect();
  await admin.query('SET statement_timeout = 0');
  await migrate(server.url, { direction: 'up' });
  await admin.query(loadSql(1, ROWS, `now() - make_interval(secs => 365 * 86400.0 * (${ROWS} - i + random()) / ${ROWS})`));
  for (let month = 0; month < MONTHS; month++) {
    await admin.query(
      `INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at)
       SELECT $1::bigint + i, 'Bench.ManyReasons', 'cancelled', jsonb_build_object('cancel_reason', 'movie ' || ($1::bigint + i) || ' not matched'),
              (i * 7) % 3000, now() - make_interval(days => 30 * $2::int, secs => 20 * 86400.0 * i / $3::int)
       FROM generate_series(1, $3::int) i`,
      [ROWS + 1 + month * REASONS, month, REASONS],
    );
    log(`month ${month + 1} of ${MONTHS}: ${REASONS} reasons`);
  }
  await admin.query('VACUUM ANALYZE');

  const ranking = pgQuery(workerCountersQuery(20));
  const ranked = (await admin.query({ text: ranking.text, values: ranking.values as unknown[] })).rows;
  const chosen = ranked.flatMap((row) => (row.top_reasons as [string, number][]).map(([reason]) => ({ worker: row.worker as string, reason })));
  const counting = pgQuery(rankedCountersQuery(chosen));
  // ranked_reasons says what each statement looked at: every reason, or the chosen ones.
  const withoutSize = (rows: Record<string, unknown>[]) => JSON.stringify(rows.map((row) => ({ ...row, ranked_reasons: 0 })));
  const same = withoutSize((await admin.query({ text: counting.text, values: counting.values as unknown[] })).rows) === withoutSize(ranked);
  if (!same) throw new Error('counting the chosen reasons answered unlike the ranking');
  const times: Record<'rank' | 'count', number[]> = { rank: [], count: [] };
  for (let round = 0; round < 5; round++) {
    for (const [name, query] of [['rank', ranking], ['count', counting]] as const) {
      const started = performance.now();
      await admin.query({ text: query.text, values: query.values as unknown[] });
      times[name].push(Math.round(performance.now() - started));
    }
  }

  service = await startService({ DATABASE_URL: server.url, LOG_LEVEL: 'warn' });
  const scrapes: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const started = performance.now();
    const response = await fetch(`${service.base}/metrics`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
    scrapes.push(performance.now() - started);
  }
  const info = await machine(server.url);
  const distinct = ranked.reduce((sum, row) => sum + Number(row.ranked_reasons), 0);
  console.log(`### GET /metrics with ${distinct.toLocaleString('en')} distinct reasons (${MONTHS} months of ${REASONS.toLocaleString('en')}, ${ROWS.toLocaleString('en')} other rows)

\`npm run bench:scrape-reasons -- --rows ${ROWS} --months ${MONTHS} --reasons ${REASONS} --scrapes ${SCRAPES}\` (bench/scrape-reasons.ts): commit ${info.commit}, ${info.date}, Node ${info.node}, PostgreSQL ${info.postgres}, ${info.cpus}, load average ${info.load} at the end.

| statement | ms, 5 rounds alternated | median |
|---|---|---:|
| rank every reason of every month (\`workerCountersQuery\`) | ${times.rank.join(', ')} | ${quantile(times.rank, 0.5).toFixed(0)} |
| count the reasons chosen (\`rankedCountersQuery\`, ${chosen.length} reasons) | ${times.count.join(', ')} | ${quantile(times.count, 0.5).toFixed(0)} |

Both answered the same (reasons, other, unknown, counts, histograms). Scrapes of the service, one
at a time: the first ${scrapes[0]!.toFixed(0)} ms (it ranks), the next ${SCRAPES - 1}: p50 ${quantile(scrapes.slice(1), 0.5).toFixed(0)} ms, p95 ${quantile(scrapes.slice(1), 0.95).toFixed(0)} ms.`);
} finally {
  await service?.stop();
  await admin.end().catch(() => {});
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
