import t from 'tap';
import pg from 'pg';
import { sql } from 'slonik';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { connectClient } from '../src/db/tls.ts';
import { auditRollups } from '../src/metrics/rollup/verify.ts';
import { EARLIEST, LATEST, timestamptzToIso } from '../src/db/timestamptz.ts';
import { get } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';

// What writers store beside today's rows: Go's zero time, PostgreSQL's infinities, BC dates, years
// past 9999. Before timestamptz.ts, one such row made /metrics/workers answer 500, and Go's zero
// time came back as 2001-01-01; a database whose DateStyle was not ISO made every read 500.

const db = await startTestDatabase(t);
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** PostgreSQL's own UTC rendering of the instant, clamped to RFC 3339's years: the oracle. */
const ORACLE = `CASE WHEN v < '0001-01-01 00:00:00+00' THEN '${EARLIEST}'
  WHEN v > '9999-12-31 23:59:59.999+00' THEN '${LATEST}'
  ELSE to_char(v AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END`;

const EDGES = [
  'infinity', '-infinity', '0001-01-01 00:00:00+00', '0001-01-01 00:00:00+01', '0001-01-01 00:00:00.001+00',
  '0099-03-01 12:00:00.5+00', '0100-02-28 23:59:59+00', '1000-06-15 03:04:05.06+00', '1582-10-15 00:00:00+00',
  '1899-12-31 23:59:59.999999+00', '1900-01-01 00:00:00+00', '1970-01-01 00:00:00+00', '2000-02-29 12:00:00+00',
  '2026-12-03 06:18:32.403999+00', '9999-12-31 23:59:59.999+00', '9999-12-31 23:59:59.999999+00',
  '10000-01-01 00:00:00+00', '275760-09-13 00:00:00+00', '294276-12-31 23:59:59.999999+00',
  '4714-11-24 00:00:00+00 BC', '0001-12-31 23:59:59+00 BC', '0001-01-01 00:00:00+00 BC',
];

t.test("timestamptzToIso reads PostgreSQL's text in every zone as PostgreSQL does", async (t) => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  t.teardown(() => client.end());
  // Zones with local mean time before 1900 (offsets with seconds), half hours, and +14.
  for (const zone of ['UTC', 'America/St_Johns', 'Asia/Kolkata', 'Europe/Paris', 'Pacific/Kiritimati', 'Africa/Monrovia']) {
    await client.query(`SET DateStyle = 'ISO'; SET TimeZone = '${zone}'`);
    const { rows } = await client.query<{ text: string; expected: string }>(
      `SELECT v::text AS text, ${ORACLE} AS expected FROM (
         SELECT unnest($1::timestamptz[]) AS v
         UNION ALL
         SELECT timestamptz '0001-01-01 00:00:00+00' + make_interval(secs => random() * 315537897599)
         FROM generate_series(1, 200)) x`,
      [EDGES],
    );
    const wrong = rows.filter((r) => timestamptzToIso(r.text) !== r.expected).map((r) => `${r.text} → ${timestamptzToIso(r.text)}, not ${r.expected}`);
    t.same(wrong, [], `${zone}: ${rows.length} values, each read as PostgreSQL's UTC text says`);
    t.ok(rows.every((r) => RFC3339.test(timestamptzToIso(r.text))), `${zone}: every answer has a four-digit year`);
  }
  t.throws(() => timestamptzToIso('03/12/2026 06:18:32 UTC'), /DateStyle must be ISO/, 'another DateStyle is an error that says why, never a wrong date');
});

t.test("a database whose defaults are DateStyle 'SQL, DMY' and a far zone, with far-off rows", async (t) => {
  const name = new URL(db.url).pathname.slice(1);
  await db.pool.query(sql.unsafe`ALTER DATABASE ${sql.identifier([name])} SET DateStyle = 'SQL, DMY'`);
  await db.pool.query(sql.unsafe`ALTER DATABASE ${sql.identifier([name])} SET TimeZone = 'America/St_Johns'`);
  // New sessions take the database's defaults; every pool below is made after.
  const pool = await createDatabasePool(db.url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  const metricsPool = await createDatabasePool(db.url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, genericPlans: true });
  t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));

  const far: Record<string, string> = {
    'Go.Zero': '0001-01-01 00:00:00+00',
    'Far.Future': 'infinity',
    'Far.Past': '-infinity',
    'Before.Christ': '4713-01-01 00:00:00+00 BC',
    'Year.Ten.Thousand': '10000-01-01 00:00:00+00',
    'Last.Month': '294276-12-31 23:59:59.999999+00', // no month after it
  };
  const writer = new pg.Client({ connectionString: db.url });
  await writer.connect();
  t.teardown(() => writer.end());
  let job = 1;
  for (const [worker, at] of Object.entries(far)) {
    await writer.query(`INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms, inserted_at) VALUES ($1, $2, 'completed', 10, $3)`, [job++, worker, at]);
  }
  for (const age of [30, 90, 7200, 86_400 * 40]) {
    await writer.query(
      `INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at) VALUES ($1, 'Now.Worker', 'cancelled', '{}', $2::int, now() - make_interval(secs => $2::int))`,
      [job++, age],
    );
  }

  const oracle = async (query: string) => (await writer.query<{ v: string }>(`SELECT ${ORACLE.replaceAll('v <', 'x.v <').replaceAll('v >', 'x.v >').replace('(v AT', '(x.v AT')} AS v FROM (${query}) x`)).rows.map((r) => r.v);
  const [nowLastSeen] = await oracle(`SELECT max(inserted_at) AS v FROM job_execution_summaries WHERE worker = 'Now.Worker'`);
  const expectedWorkers = [
    { worker: 'Before.Christ', last_seen: EARLIEST },
    { worker: 'Far.Future', last_seen: LATEST },
    { worker: 'Far.Past', last_seen: EARLIEST },
    { worker: 'Go.Zero', last_seen: '0001-01-01T00:00:00.000Z' },
    { worker: 'Last.Month', last_seen: LATEST },
    { worker: 'Now.Worker', last_seen: nowLastSeen },
    { worker: 'Year.Ten.Thousand', last_seen: LATEST },
  ];

  const config = loadConfig({ RETENTION_DAYS: '30', RETENTION_PRUNE_INTERVAL_MS: '0' });
  const app = await buildApp({ shedLoad: false, pool, metricsPool, config });
  t.teardown(() => app.close());

  const workers = await get(t, app, '/metrics/workers');
  t.equal(workers.statusCode, 200);
  t.same(workers.json().workers, expectedWorkers, 'each worker last seen at its newest row, far ones at the RFC 3339 bound nearest them');

  const system = await get(t, app, '/metrics/system?hours=24');
  t.equal(system.statusCode, 200);
  t.match(system.json(), { executions: 3, cancellations: { total: 3, unknown: 3 } }, 'the three rows of the day, none of the far ones');
  t.match(system.json().window, { from: RFC3339, to: RFC3339 });

  const listed = await get(t, app, '/job-executions?hours=24&worker=Now.Worker');
  t.equal(listed.statusCode, 200);
  const stamps = await oracle(`SELECT inserted_at AS v FROM job_execution_summaries WHERE worker = 'Now.Worker' AND inserted_at > now() - interval '1 day' ORDER BY inserted_at DESC`);
  t.same(listed.json().executions.map((e: { inserted_at: string }) => e.inserted_at), stamps, 'the drill-down stamps each row as PostgreSQL does in UTC');

  // The -infinity row is the oldest raw row kept: past the 30-day horizon, before any year.
  const year = await get(t, app, '/metrics/system?hours=8760');
  t.equal(year.statusCode, 200);
  t.match(year.json().meta.retention, { earliest_raw_row: EARLIEST, horizon: RFC3339 });
  const yearList = await get(t, app, '/job-executions?hours=8760&limit=1');
  t.equal(yearList.statusCode, 200);
  t.equal(yearList.json().pruned.earliest_raw_row, EARLIEST);

  for (const worker of Object.keys(far)) {
    const answer = await get(t, app, `/metrics/worker/${worker}?hours=1`);
    t.match([answer.statusCode, answer.json().executions], [200, 0], `${worker} is known, with no row in the last hour`);
    const series = await get(t, app, `/metrics/worker/${worker}/timeseries?hours=48`);
    t.equal(series.statusCode, 200);
  }

  await writer.query('SELECT job_rollup_fold(100000)');
  const scrape = await app.inject('/metrics');
  t.equal(scrape.statusCode, 200);
  const total = [...scrape.body.matchAll(/^job_executions_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  t.equal(total, 10, 'the Prometheus counters count every row ever recorded, far ones too');
  const { rows: pending } = await writer.query<{ n: number }>('SELECT count(*)::int AS n FROM job_rollup_pending');
  t.equal(pending[0]!.n, 0, 'the fold took every row');

  // The audit rebuilds every month from the raw rows: BC months lost their era in to_char (their
  // rows were never summed) and December 294276 had no month after it (timestamp out of range).
  const auditor = await connectClient(db.url);
  t.teardown(() => auditor.end());
  t.same(await auditRollups(auditor, 50), [], 'the rollups the fold kept equal a rebuild from the raw rows, far months included');
});

t.test("rows at PostgreSQL's first and last instants fold, change and go, the rollups equal to a rebuild", async (t) => {
  const client = await connectClient(db.url);
  t.teardown(() => client.end());
  await client.query('TRUNCATE job_execution_summaries');
  const audit = async () => auditRollups(client, 20);
  // Late November 4714 BC has no month start a timestamptz can hold; the last minute, hour, day and
  // month of 294276 have no next bucket; ±infinity are buckets of one instant.
  const stamps = [
    '4714-11-24 00:00:00+00 BC', '4714-11-30 23:59:59.999999+00 BC', '4714-12-01 00:00:00+00 BC',
    '294276-12-01 00:00:00+00', '294276-12-31 00:00:00+00', '294276-12-31 23:00:00+00', '294276-12-31 23:59:30+00',
    '294276-12-31 23:59:59.999999+00', 'infinity', '-infinity',
  ];
  let job = 1;
  const insert = (at: string, duration: number, worker = 'Edge.Worker') =>
    client.query(
      `INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at) VALUES ($1, $2, 'cancelled', '{"cancel_reason": "edge"}', $3, $4)`,
      [job++, worker, duration, at],
    );
  // Two rows per stamp, one statement each (the pending path), the larger duration last.
  for (const at of stamps) for (const duration of [10, 20]) await insert(at, duration);
  const { rows: folded } = await client.query<{ n: string }>('SELECT job_rollup_fold() AS n');
  t.equal(Number(folded[0]!.n), stamps.length * 2, 'the fold moves every row (a row of November 4714 BC stopped it)');
  // A bulk statement (over 10,000 rows) folds its own rows in the trigger.
  await client.query(
    `INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms, inserted_at)
     SELECT 1000000 + i, 'Bulk.Worker', 'completed', i % 500, ($1::timestamptz[])[1 + i % $2::int] FROM generate_series(1, 10001) i`,
    [stamps, stamps.length],
  );
  t.same(await audit(), [], 'after inserts: the rollups equal a rebuild from the raw rows');

  // The applier recomputes the max of every bucket that lost its max row.
  await client.query(`UPDATE job_execution_summaries SET state = 'completed' WHERE worker = 'Edge.Worker' AND duration_ms = 10`);
  await client.query(`DELETE FROM job_execution_summaries WHERE worker = 'Edge.Worker' AND duration_ms = 20`);
  t.same(await audit(), [], 'after an UPDATE and the DELETE of each bucket\'s max: equal, each bucket\'s max its remaining row\'s');
  await client.query(`UPDATE job_execution_summaries SET inserted_at = '294276-12-31 23:59:59+00' WHERE worker = 'Edge.Worker' AND inserted_at = '-infinity'`);
  t.same(await audit(), [], 'after moving a row from -infinity to the last minute: equal');
  await client.query('DELETE FROM job_execution_summaries');
  const { rows: left } = await client.query<{ n: string }>(
    `SELECT count(*) FILTER (WHERE completed + retryable + discarded + cancelled + snoozed <> 0) AS n FROM job_rollups`,
  );
  t.equal(Number(left[0]!.n), 0, 'after deleting every row no rollup counts one');
});
