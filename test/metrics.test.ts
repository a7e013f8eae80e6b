import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { IDLE_WORKER, MAILER, nastyRows, SHOWTIME, WINDOWS, WORKERS } from './helpers/nasty-rows.ts';
import { codePointCompare, durationDifferences, insertRows, oracle } from './helpers/rows.ts';
import { loadConfig } from '../src/config.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);
const rows = nastyRows();
await insertRows(db.pool, rows);

type Metrics = ReturnType<typeof oracle> & {
  window: { hours: number; from: string; to: string };
  worker?: string;
  meta?: { percentile_error_bound: number };
};

function assertMatchesOracle(tt: Test, body: Metrics, expected: ReturnType<typeof oracle>) {
  tt.equal(body.executions, expected.executions, 'executions');
  tt.same(body.states, expected.states, 'states');
  tt.equal(body.success_rate, expected.success_rate, 'success_rate is the exact ratio');
  tt.same(body.cancellations, expected.cancellations, 'cancellations, reason by reason, in contract order');
  const { cancellations } = body;
  tt.equal(
    cancellations.total,
    cancellations.unknown + cancellations.by_reason.reduce((sum, r) => sum + r.count, 0) + cancellations.other_reasons.count,
    'total = unknown + Σ by_reason + other_reasons',
  );
  tt.same(durationDifferences(body.duration_ms, expected.duration_ms, body.meta?.percentile_error_bound), [], 'durations');
}

t.test('system metrics equal the oracle over every window', async (t) => {
  for (const hours of WINDOWS) {
    const response = await get(t, app, `/metrics/system?hours=${hours}`);
    t.equal(response.statusCode, 200);
    const body = response.json<Metrics>();
    t.equal(body.window.hours, hours);
    t.equal(Date.parse(body.window.to) - Date.parse(body.window.from), hours * 3_600_000, 'window spans the hours');
    await t.test(`${hours} h`, async (tt) => assertMatchesOracle(tt, body, oracle(rows, hours)));
  }
});

t.test('worker metrics equal the oracle for every worker and window', async (t) => {
  for (const worker of WORKERS) {
    for (const hours of WINDOWS) {
      const response = await get(t, app, `/metrics/worker/${encodeURIComponent(worker)}?hours=${hours}`);
      t.equal(response.statusCode, 200);
      const body = response.json<Metrics>();
      t.equal(body.worker, worker, 'the name is echoed exactly');
      await t.test(`${worker.slice(0, 30)} ${hours} h`, async (tt) =>
        assertMatchesOracle(tt, body, oracle(rows, hours, worker)),
      );
    }
  }
});

t.test('?reasons=N lists the largest N reasons and sums the rest, from the raw rows and from the rollups', async (t) => {
  // METRICS_EXACT_MAX_ROWS=0: every window from the rollups, so both queries are checked.
  const rollupApp = await startTestApp(t, db, { config: loadConfig({ METRICS_EXACT_MAX_ROWS: '0' }) });
  for (const [label, on] of [['raw rows', app], ['rollups', rollupApp]] as const) {
    for (const worker of [undefined, SHOWTIME, MAILER]) {
      for (const hours of [1, 24, 8760]) {
        const every = oracle(rows, hours, worker).cancellations.by_reason.length;
        for (const limit of new Set([0, 1, 2, Math.max(every - 1, 0), every, every + 5])) {
          const path = worker ? `/metrics/worker/${encodeURIComponent(worker)}` : '/metrics/system';
          const body = (await get(t, on, `${path}?hours=${hours}&reasons=${limit}&compare=previous`)).json<Metrics & { compare: { previous: Metrics } }>();
          const expected = oracle(rows, hours, worker, limit).cancellations;
          t.same(body.cancellations, expected, `${label}, ${worker ?? 'system'} ${hours} h, reasons=${limit} of ${every}`);
          t.equal(body.compare.previous.cancellations.by_reason.length <= limit, true, 'the previous window is cut the same way');
        }
      }
    }
  }
  // The fixture's reasons must be enough for the cuts above to mean something.
  t.ok(oracle(rows, 24).cancellations.by_reason.length >= 5, 'the system has five reasons or more in a day');
});

t.test('the default window is 24 hours', async (t) => {
  const body = (await get(t, app, '/metrics/system')).json<Metrics>();
  t.equal(body.window.hours, 24);
  t.equal(body.executions, oracle(rows, 24).executions);
});

t.test('the literal reasons stay apart from NULL', async (t) => {
  const body = (await get(t, app, '/metrics/worker/' + encodeURIComponent(SHOWTIME) + '?hours=1')).json<Metrics>();
  const reasons = new Map(body.cancellations.by_reason.map((r) => [r.reason, r.count]));
  t.equal(body.cancellations.unknown, 6, 'missing key, JSON null, NULL results, JSON null results, array, string');
  t.equal(reasons.get('unknown'), 1, 'a stored "unknown" is a reason');
  t.equal(reasons.get('Unknown'), 1, 'case sensitive');
  t.equal(reasons.get(''), 1, 'the empty string is a reason');
  t.equal(reasons.get('42'), 2, 'the number 42 and the string "42" read the same through ->>');
  t.equal(reasons.get('true'), 1);
  t.equal(reasons.get('{"code": 7}'), 1, 'an object reason as jsonb text');
  t.notOk(reasons.has('ignored'), 'a reason on a completed row is ignored');
  const order = body.cancellations.by_reason.filter((r) => r.count === 1).map((r) => r.reason);
  t.same(order, [...order].sort(codePointCompare), 'ties in code-point order');
  t.ok(order.indexOf('\uFFFD replacement') < order.indexOf('😀 emoji'), 'U+FFFD before U+1F600 (UTF-16 would flip them)');
});

t.test("the seed's verification query agrees with the API", async (t) => {
  for (const hours of [1, 24, 8760]) {
    const seedRows = await db.pool.any(sql.type(z.object({ reason: z.string(), count: z.number() }))`
      SELECT CASE WHEN results->>'cancel_reason' IS NULL THEN 'unknown' ELSE results->>'cancel_reason' END AS reason,
             COUNT(*) AS count
      FROM job_execution_summaries
      WHERE state = 'cancelled' AND inserted_at > now() - make_interval(hours => ${hours}) AND inserted_at <= now()
      GROUP BY reason
    `);
    const body = (await get(t, app, `/metrics/system?hours=${hours}`)).json<Metrics>();
    const api = new Map(body.cancellations.by_reason.map((r) => [r.reason, r.count]));
    for (const seed of seedRows) {
      const expected =
        seed.reason === 'unknown' ? body.cancellations.unknown + (api.get('unknown') ?? 0) : api.get(seed.reason);
      t.equal(seed.count, expected, `${hours} h: ${seed.reason.slice(0, 30)}`);
    }
    t.equal(seedRows.length, api.size + (api.has('unknown') ? 0 : body.cancellations.unknown > 0 ? 1 : 0));
  }
});

t.test('an idle known worker gets zeros, an unseen one a 404', async (t) => {
  const idle = await get(t, app, `/metrics/worker/${IDLE_WORKER}?hours=24`);
  t.equal(idle.statusCode, 200);
  const body = idle.json<Metrics>();
  t.equal(body.executions, 0);
  t.same(body.states, { completed: 0, retryable: 0, discarded: 0, cancelled: 0, snoozed: 0 });
  t.equal(body.success_rate, null);
  t.same(body.cancellations, { total: 0, unknown: 0, by_reason: [], other_reasons: { count: 0, reasons: 0 } });
  t.equal(body.duration_ms, null);

  for (const name of ['Never.Seen', MAILER.toLowerCase(), `${MAILER} `, "x' OR '1'='1", 'a%2Fb']) {
    t.equal((await get(t, app, `/metrics/worker/${encodeURIComponent(name)}?compare=previous`)).statusCode, 404, `${name} is unknown, compared too`);
    const response = await get(t, app, `/metrics/worker/${encodeURIComponent(name)}`);
    t.equal(response.statusCode, 404, `${name} is unknown`);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(response.json(), { status: 404, detail: /has no executions/ });
  }
});

t.test('workers are listed in code-point order with their last execution', async (t) => {
  const body = (await get(t, app, '/metrics/workers')).json<{ workers: { worker: string; last_seen: string }[] }>();
  const names = body.workers.map((w) => w.worker);
  t.same(names, [...new Set(rows.map((r) => r.worker))].sort(codePointCompare));
  const newest = await db.pool.oneFirst(
    sql.type(z.object({ t: z.string() }))`SELECT max(inserted_at) AS t FROM job_execution_summaries WHERE worker = ${MAILER}`,
  );
  t.equal(body.workers.find((w) => w.worker === MAILER)?.last_seen, newest);
});

t.test('counts are JSON integers, not strings', async (t) => {
  const response = await get(t, app, '/metrics/system?hours=8760');
  t.match(response.body, /"executions":\d+,/);
  t.notMatch(response.body, /"count":"/);
});
