import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { pruneRawRows } from '../src/retention/prune.ts';
import { HISTOGRAM_THRESHOLDS } from '../src/metrics/rollup/histogram.ts';
import { DURATION_BUCKETS } from '../src/metrics/prometheus/duration-buckets.ts';
import { negotiate, OPENMETRICS_TEXT, PROMETHEUS_TEXT } from '../src/metrics/prometheus/exposition.ts';
import { STATES } from '../src/schemas/common.ts';
import { get, startTestApp } from './helpers/app.ts';
import { EMBEDDED_SERVER, STOPS_SERVER, startTestDatabase } from './helpers/database.ts';
import { parseExposition, type Exposition, type Sample } from './helpers/exposition.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { codePointCompare, insertRows, reasonOf, type TestRow } from './helpers/rows.ts';

const MAX_REASONS = 5;
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const JOB_FAMILIES = /^job_(executions_total|cancellations_(total|other_reasons_total|unknown_reason_total)|execution_duration_seconds_(bucket|sum|count))$/;

let nextJob = 1_000_000;
/** Rows the nasty set lacks: newlines, backslashes and quotes in worker and reason, and durations on each `le` and one past it. */
function moreRows(les: readonly number[]): TestRow[] {
  const rows: TestRow[] = [];
  const add = (worker: string, state: TestRow['state'], results: TestRow['results'], duration_ms: number | null) =>
    rows.push({ job_id: nextJob++, worker, state, results, duration_ms, age_s: 30 });
  const odd = 'New\nLine \\ "Worker"\r';
  add(odd, 'cancelled', { cancel_reason: 'line 1\nline 2 \\n "q"' }, 1);
  add(odd, 'cancelled', { cancel_reason: 'unknown' }, null);
  add(odd, 'cancelled', { cancel_reason: null }, 2);
  for (const le of les) {
    const ms = Math.round(le * 1000);
    add('Edges.Worker', 'completed', undefined, ms);
    add('Edges.Worker', 'completed', undefined, ms + 1);
  }
  return rows;
}

/** The job families the contract promises for these rows, computed from the rows alone. */
function oracle(rows: readonly TestRow[], les: readonly number[]): string[] {
  const samples: Sample[] = [];
  const workers = [...new Set(rows.map((r) => r.worker))];
  for (const worker of workers) {
    const own = rows.filter((r) => r.worker === worker);
    for (const state of STATES) samples.push({ name: 'job_executions_total', labels: { worker, state }, value: own.filter((r) => r.state === state).length });
    const counts = new Map<string, number>();
    let unknown = 0;
    for (const row of own.filter((r) => r.state === 'cancelled')) {
      const reason = reasonOf(row.results);
      if (reason === null) unknown += 1;
      else counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || codePointCompare(a[0], b[0]));
    for (const [reason, value] of ranked.slice(0, MAX_REASONS)) samples.push({ name: 'job_cancellations_total', labels: { worker, reason }, value });
    const other = ranked.slice(MAX_REASONS).reduce((sum, [, n]) => sum + n, 0);
    samples.push({ name: 'job_cancellations_other_reasons_total', labels: { worker }, value: other });
    samples.push({ name: 'job_cancellations_unknown_reason_total', labels: { worker }, value: unknown });
    const durations = own.map((r) => r.duration_ms).filter((d): d is number => typeof d === 'number');
    for (const le of les) {
      samples.push({ name: 'job_execution_duration_seconds_bucket', labels: { worker, le: String(le) }, value: durations.filter((d) => d / 1000 <= le).length });
    }
    samples.push({ name: 'job_execution_duration_seconds_bucket', labels: { worker, le: '+Inf' }, value: durations.length });
    samples.push({ name: 'job_execution_duration_seconds_sum', labels: { worker }, value: durations.reduce((a, b) => a + b, 0) / 1000 });
    samples.push({ name: 'job_execution_duration_seconds_count', labels: { worker }, value: durations.length });
  }
  return samples.map(key).sort();
}

const key = (s: Sample) => JSON.stringify([s.name, Object.entries(s.labels).sort(), Math.round(s.value * 1000) / 1000]);
const jobSamples = (e: Exposition) => e.samples.filter((s) => JOB_FAMILIES.test(s.name)).map(key).sort();

/** For each worker: executions{cancelled} = Σ reasons + other + unknown. */
function invariantBreaks(e: Exposition): string[] {
  const sum = (name: string, worker: string) => e.samples.filter((s) => s.name === name && s.labels.worker === worker).reduce((a, s) => a + s.value, 0);
  const workers = new Set(e.samples.filter((s) => s.name === 'job_executions_total').map((s) => s.labels.worker!));
  return [...workers].filter((worker) => {
    const cancelled = e.samples.find((s) => s.name === 'job_executions_total' && s.labels.worker === worker && s.labels.state === 'cancelled')!.value;
    const parts = ['job_cancellations_total', 'job_cancellations_other_reasons_total', 'job_cancellations_unknown_reason_total'].map((n) => sum(n, worker));
    return cancelled !== parts.reduce((a, b) => a + b, 0);
  });
}

t.test('GET /metrics: the job families equal an oracle over the inserted rows, pending, folded and mixed', async (t) => {
  const db = await startTestDatabase(t);
  const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0', PROMETHEUS_MAX_REASONS: String(MAX_REASONS) }) });
  const scrape = async (accept?: string) => {
    const response = await get(t, app, '/metrics', accept ? { accept } : {});
    t.equal(response.statusCode, 200);
    const openMetrics = response.headers['content-type'] === OPENMETRICS_TEXT;
    t.match(response.headers.vary, /\baccept\b/i, 'the format follows Accept, and a cache is told so');
    return parseExposition(response.body, openMetrics ? 'openmetrics' : 'prometheus');
  };

  const empty = await scrape();
  t.same(jobSamples(empty), [], 'no rows: no job series');

  const timed = (await scrape()).samples.filter((s) => s.name === 'http_request_duration_seconds_count');
  t.same(timed.map((s) => s.labels), [{ method: 'GET', route: '/metrics', status_code: '200' }], 'requests are timed by route and status');

  const leValues = DURATION_BUCKETS.map((b) => b.le);
  for (const le of leValues) {
    const ms = Math.round(le * 1000);
    t.ok(Math.abs(le * 1000 - ms) < 1e-9 && HISTOGRAM_THRESHOLDS.includes(ms + 1), `le=${le} is the last millisecond of a rollup bin (exact)`);
  }

  const rows = [...nastyRows(), ...moreRows(leValues)];
  await insertRows(db.pool, rows);
  const expected = oracle(rows, leValues);

  const pending = await scrape();
  t.ok((pending.samples.find((s) => s.name === 'job_rollup_pending_rows')?.value ?? 0) > 0, 'rows are pending');
  t.same(jobSamples(pending), expected, 'every row pending: exact');
  t.same(invariantBreaks(pending), []);

  await foldPending(db.pool);
  const folded = await scrape();
  t.equal(folded.samples.find((s) => s.name === 'job_rollup_pending_rows')?.value, 0, 'the backlog is folded');
  t.same(jobSamples(folded), expected, 'every row folded: exact');

  const later = moreRows(leValues);
  await insertRows(db.pool, later);
  const mixed = await scrape();
  t.same(jobSamples(mixed), oracle([...rows, ...later], leValues), 'folded and pending rows of one worker add up');
  t.same(invariantBreaks(mixed), []);
  const { n } = await db.pool.one(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries`);
  const total = mixed.samples.filter((s) => s.name === 'job_executions_total').reduce((a, s) => a + s.value, 0);
  t.equal(total, n, 'sum(job_executions_total) is the table\'s row count');

  const openMetrics = await scrape(PROMETHEUS_ACCEPT);
  t.same(jobSamples(openMetrics), jobSamples(mixed), 'OpenMetrics carries the same samples');
  t.equal(openMetrics.types.get('job_executions'), 'counter', 'OpenMetrics names the counter family without _total');
  const again = await scrape();
  t.equal(again.types.get('job_executions_total'), 'counter', 'a text scrape after an OpenMetrics one keeps _total');
  t.equal(again.types.get('process_cpu_seconds_total'), 'counter', 'prom-client\'s own counters keep _total too');
  for (const family of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'job_metrics_db_pool_connections_in_use', 'http_request_duration_seconds']) {
    t.ok(again.types.has(family), `${family} is exposed`);
  }

  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE worker = 'Mailer.Worker' AND state = 'cancelled'`);
  await db.pool.query(sql.unsafe`UPDATE job_execution_summaries SET results = '{"cancel_reason": "moved"}' WHERE results ->> 'cancel_reason' = 'a'`);
  const remaining = [...rows, ...later]
    .filter((r) => !(r.worker === 'Mailer.Worker' && r.state === 'cancelled'))
    .map((r) => (reasonOf(r.results) === 'a' ? { ...r, results: { cancel_reason: 'moved' } } : r));
  const changed = await scrape();
  t.same(jobSamples(changed), oracle(remaining, leValues), 'DELETE and UPDATE of rows change the counters (a decrease reads as a reset)');
  t.same(invariantBreaks(changed), []);
});

// With reasons that embed ids, ranking every reason of every month made each scrape slow (1.3 s per
// 200,000 reasons in a month); a big ranking's choice of series is now kept a while. Forced here
// (PROMETHEUS_RANK_REUSE_REASONS=0): the chosen reasons keep their series with their counts now,
// everything else stays exact, and a reason that grew meanwhile is counted in "other".
t.test('a ranking kept between scrapes: the same reason series, every count exact', async (t) => {
  const db = await startTestDatabase(t);
  const config = loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0', PROMETHEUS_MAX_REASONS: String(MAX_REASONS), PROMETHEUS_RANK_REUSE_REASONS: '0', PROMETHEUS_RANK_REUSE_MS: '3600000' });
  const app = await startTestApp(t, db, { config });
  const scrape = async () => parseExposition((await get(t, app, '/metrics')).body, 'prometheus');
  const leValues = DURATION_BUCKETS.map((b) => b.le);
  const rows = [...nastyRows(), ...moreRows(leValues)];
  await insertRows(db.pool, rows);
  await foldPending(db.pool);
  const first = await scrape();
  t.same(jobSamples(first), oracle(rows, leValues), 'the first scrape ranks: exact');
  const chosen = new Set(first.samples.filter((s) => s.name === 'job_cancellations_total').map((s) => JSON.stringify([s.labels.worker, s.labels.reason])));
  t.ok(chosen.size > 0, `${chosen.size} reasons chosen`);

  // A reason that outgrows every chosen one, more rows of the chosen ones (some folded, some
  // pending), and a worker the ranking never saw.
  const [worker, reason] = JSON.parse([...chosen][0]!) as [string, string];
  const grown = Array.from({ length: 40 }, (_, i): TestRow => ({ job_id: nextJob++, worker, state: 'cancelled', results: { cancel_reason: 'grew since' }, duration_ms: i, age_s: 20 }));
  const more: TestRow[] = [
    ...grown.slice(0, 20),
    { job_id: nextJob++, worker, state: 'cancelled', results: { cancel_reason: reason }, duration_ms: 7, age_s: 20 },
    { job_id: nextJob++, worker, state: 'cancelled', results: { cancel_reason: reason }, duration_ms: 7, age_s: 100 * 86_400 }, // another month
    { job_id: nextJob++, worker: 'Unseen.Worker', state: 'cancelled', results: { cancel_reason: 'new' }, duration_ms: 7, age_s: 20 },
    { job_id: nextJob++, worker: 'Unseen.Worker', state: 'cancelled', results: {}, duration_ms: 7, age_s: 20 },
  ];
  await insertRows(db.pool, more);
  await foldPending(db.pool);
  const pending: TestRow[] = [...grown.slice(20), { job_id: nextJob++, worker, state: 'cancelled', results: { cancel_reason: reason }, duration_ms: 8, age_s: 10 }];
  await insertRows(db.pool, pending);

  const all = [...rows, ...more, ...pending];
  const second = await scrape();
  const reasonFamilies = /^job_cancellations_(total|other_reasons_total)$/;
  const expected = oracle(all, leValues).filter((k) => !reasonFamilies.test(JSON.parse(k)[0]));
  t.same(jobSamples(second).filter((k) => !reasonFamilies.test(JSON.parse(k)[0])), expected, 'executions, unknown reasons and durations: exact');
  const counts = new Map<string, number>();
  for (const r of all.filter((r) => r.state === 'cancelled' && reasonOf(r.results) !== null)) {
    const k = JSON.stringify([r.worker, reasonOf(r.results)]);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const listed = second.samples.filter((s) => s.name === 'job_cancellations_total');
  t.same(
    listed.map((s) => JSON.stringify([s.labels.worker, s.labels.reason])).sort(),
    [...chosen].sort(),
    'the series are the ones the first scrape chose ("grew since" is not among them)',
  );
  t.same(
    listed.filter((s) => s.value !== counts.get(JSON.stringify([s.labels.worker, s.labels.reason]))).map((s) => s.labels),
    [],
    'each with its count now, folded and pending rows added',
  );
  const other = (w: string) => second.samples.find((s) => s.name === 'job_cancellations_other_reasons_total' && s.labels.worker === w)?.value;
  const unlisted = (w: string) => [...counts].filter(([k]) => JSON.parse(k)[0] === w && !chosen.has(k)).reduce((sum, [, n]) => sum + n, 0);
  t.equal(other(worker), unlisted(worker), `${worker}: "other" holds every reason not chosen, the 40 that grew among them`);
  t.equal(other('Unseen.Worker'), 1, 'a worker the ranking never saw has its reasons in "other"');
  t.same(invariantBreaks(second), [], 'cancelled = reasons + other + unknown for every worker');

  // Kept 1 ms: a scrape past it still answers with the old choice and ranks again in the background;
  // a later scrape has the new one, and then every family equals the oracle again.
  const quick = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0', PROMETHEUS_MAX_REASONS: String(MAX_REASONS), PROMETHEUS_RANK_REUSE_REASONS: '0', PROMETHEUS_RANK_REUSE_MS: '1' }) });
  const quickScrape = async () => parseExposition((await get(t, quick, '/metrics')).body, 'prometheus');
  t.same(jobSamples(await quickScrape()), oracle(all, leValues), 'a new process ranks at its first scrape: exact');
  const surge = Array.from({ length: 60 }, (_, i): TestRow => ({ job_id: nextJob++, worker, state: 'cancelled', results: { cancel_reason: 'surge' }, duration_ms: i, age_s: 5 }));
  await insertRows(db.pool, surge);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const stale = await quickScrape();
  t.notOk(stale.samples.some((s) => s.labels.reason === 'surge'), 'the scrape past the choice answers with it');
  t.same(invariantBreaks(stale), []);
  let fresh = stale;
  for (let i = 0; i < 100 && !fresh.samples.some((s) => s.labels.reason === 'surge'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    fresh = await quickScrape();
  }
  t.ok(fresh.samples.some((s) => s.name === 'job_cancellations_total' && s.labels.reason === 'surge' && s.value === 60), 'a later scrape has the new choice');
  t.same(jobSamples(fresh), oracle([...all, ...surge], leValues), 'and equals the oracle');
});

t.test('READ_TOKEN protects GET /metrics as it does every read', async (t) => {
  const db = await startTestDatabase(t);
  const token = 'r'.repeat(32);
  const app = await startTestApp(t, db, { config: loadConfig({ READ_TOKEN: token }) });
  const denied = await get(t, app, '/metrics');
  t.equal(denied.statusCode, 401);
  t.match(denied.headers['content-type'], /^application\/problem\+json/);
  const allowed = await get(t, app, '/metrics', { authorization: `Bearer ${token}` });
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.headers['content-type'], PROMETHEUS_TEXT);
});

t.test('Accept picks the format', async (t) => {
  t.equal(negotiate(undefined), PROMETHEUS_TEXT);
  t.equal(negotiate('*/*'), PROMETHEUS_TEXT);
  t.equal(negotiate('text/plain'), PROMETHEUS_TEXT);
  t.equal(negotiate(PROMETHEUS_ACCEPT), OPENMETRICS_TEXT, "Prometheus's own Accept");
  t.equal(negotiate('application/openmetrics-text; version=1.0.0'), OPENMETRICS_TEXT);
  t.equal(negotiate('text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5'), PROMETHEUS_TEXT);
  t.equal(negotiate('application/openmetrics-text;q=0, text/plain'), PROMETHEUS_TEXT);
  t.equal(negotiate('application/json'), PROMETHEUS_TEXT, 'anything else gets the text format');
});

t.test('a scrape while the database is down is a 503 problem, so Prometheus sees the target down', { skip: EMBEDDED_SERVER ? false : STOPS_SERVER }, async (t) => {
  const db = await startTestDatabase(t);
  const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });
  await db.stopServer();
  const down = await get(t, app, '/metrics');
  t.equal(down.statusCode, 503);
  t.match(down.headers['content-type'], /^application\/problem\+json/);
  t.ok(down.headers['retry-after'], 'with Retry-After');
  await db.startServer();
  t.equal((await get(t, app, '/metrics')).statusCode, 200, 'and 200 again once it is back');
});

t.test('pruning raw rows (RETENTION_DAYS) does not lower the counters', async (t) => {
  const db = await startTestDatabase(t);
  const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });
  const rows = nastyRows();
  await insertRows(db.pool, rows);
  const scrape = async () => parseExposition((await get(t, app, '/metrics')).body, 'prometheus');
  const before = jobSamples(await scrape());
  const { n: old } = await db.pool.one(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries WHERE inserted_at < now() - interval '30 days'`);
  t.ok(old > 0, `${old} rows are older than 30 days`);
  await pruneRawRows(db.pool, 30);
  const { n: left } = await db.pool.one(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries WHERE inserted_at < now() - interval '30 days'`);
  t.equal(left, 0, 'they are pruned');
  t.same(jobSamples(await scrape()), before, 'every job series keeps its value');
});

t.test('the histogram cache says how many histograms reads took from it and from the database', async (t) => {
  const db = await startTestDatabase(t);
  const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0', METRICS_EXACT_MAX_ROWS: '0' }) });
  await insertRows(db.pool, nastyRows());
  await foldPending(db.pool);
  const scrape = async () => parseExposition((await get(t, app, '/metrics')).body, 'prometheus');
  const value = (e: Exposition, name: string, source?: string) =>
    e.samples.find((s) => s.name === name && (source === undefined || s.labels.source === source))?.value;

  const read = await get(t, app, '/metrics/system?hours=720');
  t.equal(read.statusCode, 200);
  t.equal(read.json().meta.method, 'rollup', 'the window is read from the rollups');
  const first = await scrape();
  const sent = value(first, 'job_metrics_rollup_cache_reads_total', 'sent') ?? 0;
  t.ok(sent > 0, `the first read's ${sent} histograms came from the database`);
  t.equal(value(first, 'job_metrics_rollup_cache_reads_total', 'held'), 0, 'none was held');
  t.equal(value(first, 'job_metrics_rollup_cache_versions'), sent, 'each is held now');
  t.ok((value(first, 'job_metrics_rollup_cache_bytes') ?? 0) >= sent * 8, 'at least one [bin, count] pair each');

  await get(t, app, '/metrics/system?hours=720');
  const second = await scrape();
  t.equal(value(second, 'job_metrics_rollup_cache_reads_total', 'held'), sent, 'the same read again uses the held ones');
  t.equal(value(second, 'job_metrics_rollup_cache_reads_total', 'sent'), sent, 'and is sent none');
});
