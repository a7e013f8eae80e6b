import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { readFile } from 'node:fs/promises';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ensureDemoData } from '../src/demo/demo-data.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { prometheusMissing, promtool, startPrometheus } from './helpers/prometheus.ts';
import { insertRows } from './helpers/rows.ts';

const DASHBOARD_FILE = new URL('../deploy/grafana/job-metrics.dashboard.json', import.meta.url);
const TOKEN = 'prometheus-read-token-0123456789';
const CANCELLATION_FAMILIES = '{__name__=~"job_cancellations_total|job_cancellations_other_reasons_total|job_cancellations_unknown_reason_total"}';

const PerWorker = z.object({ worker: z.string(), cancelled: z.number(), unknown: z.number(), durations: z.number() });
const PerReason = z.object({ worker: z.string(), reason: z.string(), n: z.number() });

t.test('a real Prometheus scrapes the service on demo data and its PromQL answers equal the database', { skip: prometheusMissing() }, async (t) => {
  const db = await startTestDatabase(t);
  await ensureDemoData(db.pool);
  await insertRows(db.pool, nastyRows());
  await insertRows(db.pool, [
    { job_id: 77_000_001, worker: 'Line\nBreak "Worker" \\', state: 'cancelled', results: { cancel_reason: 'a\nb "c" \\d' }, duration_ms: 3, age_s: 5 },
  ]);
  const app = await buildApp({ pool: db.pool, shedLoad: false, config: loadConfig({ READ_TOKEN: TOKEN }) });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  const target = `127.0.0.1:${address.port}`;

  const prometheus = await startPrometheus(t, { target, token: TOKEN });
  await prometheus.waitFor('up{job="job-metrics"} == 1', (r) => r.length === 1);
  // A scrape is observed once answered, so the HTTP histogram shows from the second scrape on.
  await prometheus.waitFor('count(http_request_duration_seconds_count)', (r) => r.length === 1);

  const { rows } = await db.pool.one(sql.type(z.object({ rows: z.number() }))`SELECT count(*) AS rows FROM job_execution_summaries`);
  // Polled: a scrape that a loaded machine times out marks the series stale until the next one.
  const total = await prometheus.waitFor('sum(job_executions_total)', (r) => r.length === 1 && Number(r[0]!.value[1]) === rows).catch((error: Error) => error.message);
  t.notMatch(String(total), /did not hold/, `sum(job_executions_total) = the table's ${rows} rows`);

  // The rest reads each series' latest scraped sample (range functions skip staleness markers).
  const latest = (selector: string) => `last_over_time(${selector}[5m])`;
  const perWorker = await db.pool.any(sql.type(PerWorker)`
    SELECT worker, count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
      count(*) FILTER (WHERE state = 'cancelled' AND results ->> 'cancel_reason' IS NULL) AS unknown,
      count(duration_ms) AS durations
    FROM job_execution_summaries GROUP BY worker`);
  // Every worker's cancelled count equals the sum of its three cancellation families (a positive
  // count, so stale series cannot make it pass vacuously).
  const holding = await prometheus
    .waitFor(
      `count(sum by (worker) (job_executions_total{state="cancelled"}) == on (worker) sum by (worker) (${CANCELLATION_FAMILIES}))`,
      (r) => Number(r[0]?.value[1]) === perWorker.length,
    )
    .catch((error: Error) => error.message);
  t.notMatch(String(holding), /did not hold/, `for all ${perWorker.length} workers: cancelled = Σ reasons + other + unknown`);
  const byWorker = async (expr: string) =>
    Object.fromEntries((await prometheus.query(expr)).map((s) => [s.metric.worker!, Number(s.value[1])]));
  t.same(await byWorker(`sum by (worker) (${latest('job_executions_total{state="cancelled"}')})`), Object.fromEntries(perWorker.map((w) => [w.worker, w.cancelled])), 'cancelled per worker, every name exact');
  t.same(await byWorker(`sum by (worker) (${latest('job_cancellations_unknown_reason_total')})`), Object.fromEntries(perWorker.map((w) => [w.worker, w.unknown])), 'NULL reasons per worker');
  t.same(await byWorker(`sum by (worker) (${latest('job_execution_duration_seconds_count')})`), Object.fromEntries(perWorker.map((w) => [w.worker, w.durations])), 'durations per worker');

  const perReason = await db.pool.any(sql.type(PerReason)`
    SELECT worker, results ->> 'cancel_reason' AS reason, count(*) AS n FROM job_execution_summaries
    WHERE state = 'cancelled' AND results ->> 'cancel_reason' IS NOT NULL GROUP BY 1, 2`);
  const expected = new Map(perReason.map((r) => [JSON.stringify([r.worker, r.reason]), r.n]));
  const reasons = await prometheus.query(latest('job_cancellations_total'));
  // Prometheus drops a label whose value is "": reason="" comes back without one.
  const wrong = reasons.filter((s) => expected.get(JSON.stringify([s.metric.worker, s.metric.reason ?? ''])) !== Number(s.value[1]));
  t.same(wrong, [], 'every reason series equals its count in the table (Unicode, quotes, backslashes, newlines, "unknown", "")');
  t.ok(reasons.some((s) => s.metric.reason === 'unknown'), 'a recorded "unknown" is a reason label');

  const scrape = await fetch(`http://${target}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/plain' } });
  const lint = promtool(['check', 'metrics'], await scrape.text());
  t.same(lint, { code: 0, output: '' }, 'promtool check metrics: clean');

  const rules = await fetch(`${prometheus.url}/api/v1/rules`).then((r) => r.json() as Promise<{ data: { groups: { rules: { name: string; health: string }[] }[] } }>);
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  t.ok(loaded.length >= 10, `${loaded.length} shipped rules loaded by Prometheus`);
  t.same(loaded.filter((r) => r.health === 'err'), [], 'no rule fails to evaluate');

  const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ title: p.title, expr: target.expr })));
  t.ok(exprs.length > 15, `${exprs.length} dashboard queries`);
  const names = new Set<string>();
  for (const { title, expr } of exprs) {
    const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$worker', '(?s:.*)');
    for (const name of promql.matchAll(/\b((?:job|http|process|nodejs)_[a-z0-9_]+|up)\b(?=\{)/g)) names.add(name[1]!);
    const answer = await prometheus.query(promql).then(() => 'ok', (error: Error) => error.message);
    t.equal(answer, 'ok', `dashboard "${title}": Prometheus evaluates the query`);
  }
  const missing = [];
  for (const name of names) if ((await prometheus.query(`count({__name__="${name}"})`)).length === 0) missing.push(name);
  t.same(missing, [], `every metric the dashboard names (${names.size}) is scraped`);
});
