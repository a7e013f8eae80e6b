import t, { type Test as TapTest } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { IDLE_WORKER, MAILER, nastyRows, SHOWTIME, UNICODE_WORKER, WORKERS } from './helpers/nasty-rows.ts';
import { insertRows, reasonOf, type TestRow } from './helpers/rows.ts';
import { STATES } from '../src/schemas/common.ts';
import { loadConfig } from '../src/config.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';

const db = await startTestDatabase(t);
// No background fold: the first pass reads every row as pending, the second after foldPending.
const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });

const HOUR_US = 3_600_000_000;
const BUCKET_US = { hour: HOUR_US, day: 24 * HOUR_US } as const;
type Bucket = keyof typeof BUCKET_US;

/** Rows exactly on a UTC bucket boundary, and one microsecond before it: the edges date_trunc decides. */
const EDGE_WORKER = 'Edge.Worker';
const edges: { row: TestRow; unit: Bucket; back: number; eps: number }[] = [];
let edgeJob = 1_000_000;
for (const [unit, back] of [['hour', 3], ['day', 24], ['day', 0]] as const) {
  for (const eps of [0, 0.000001]) {
    const row: TestRow = { job_id: edgeJob++, worker: EDGE_WORKER, state: 'cancelled', results: {}, age_s: 0 };
    edges.push({ row, unit, back, eps });
  }
}

const rows = [...nastyRows(), ...edges.map((e) => e.row)];
await insertRows(db.pool, rows.filter((r) => r.worker !== EDGE_WORKER));
for (const { row, unit, back, eps } of edges) {
  await db.pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, worker, state, results, inserted_at)
    VALUES (${row.job_id}, ${row.worker}, ${row.state}, '{}'::jsonb,
            date_trunc(${unit}, now(), 'UTC') - make_interval(hours => ${back}) - make_interval(secs => ${eps}))
  `);
}

/** Each row's stored time in epoch microseconds, read back so the oracle buckets what PostgreSQL holds. */
const stamps = new Map(
  (
    await db.pool.any(sql.type(z.object({ job_id: z.number(), us: z.number() }))`
      SELECT job_id, (extract(epoch FROM inserted_at) * 1000000)::bigint AS us FROM job_execution_summaries
    `)
  ).map((r) => [r.job_id, r.us]),
);

interface Point {
  start: string;
  executions: number;
  states: Record<string, number>;
  unknown: number;
}
interface Series {
  worker?: string;
  window: { hours: number; from: string; to: string };
  bucket: Bucket;
  points: Point[];
}

/** The expected points, computed in JavaScript from the rows and the window the answer reports. */
function oracle(series: Series, worker?: string): Point[] {
  const size = BUCKET_US[series.bucket];
  const toUs = Date.parse(series.window.to) * 1000;
  const fromUs = toUs - series.window.hours * HOUR_US;
  const bucketOf = (us: number) => Math.floor(us / size) * size;
  const points = new Map<number, Point>();
  for (let start = bucketOf(fromUs); start <= bucketOf(toUs); start += size) {
    const states = Object.fromEntries(STATES.map((s) => [s, 0]));
    points.set(start, { start: new Date(start / 1000).toISOString(), executions: 0, states, unknown: 0 });
  }
  for (const row of rows) {
    const us = stamps.get(row.job_id)!;
    if (us <= fromUs || us > toUs || (worker !== undefined && row.worker !== worker)) continue;
    const point = points.get(bucketOf(us))!;
    point.executions += 1;
    point.states[row.state]! += 1;
    if (row.state === 'cancelled' && reasonOf(row.results) === null) point.unknown += 1;
  }
  return [...points.values()];
}

const total = (points: Point[], key: (p: Point) => number) => points.reduce((sum, p) => sum + key(p), 0);

async function systemPointsEqualTheOracle(t: TapTest) {
  const cases: [number, Bucket | undefined][] = [[1, undefined], [2, 'hour'], [24, undefined], [48, 'day'], [168, 'hour'], [720, undefined], [721, undefined], [721, 'hour'], [8760, 'day'], [8760, 'hour']];
  for (const [hours, bucket] of cases) {
    const url = `/metrics/system/timeseries?hours=${hours}${bucket ? `&bucket=${bucket}` : ''}`;
    const response = await get(t, app, url);
    t.equal(response.statusCode, 200, url);
    const body = response.json<Series>();
    t.equal(body.bucket, bucket ?? (hours <= 720 ? 'hour' : 'day'), `${url}: bucket`);
    t.equal(body.window.hours, hours);
    t.same(body.points, oracle(body), `${url}: ${body.points.length} points`);
    if (body.bucket === 'hour') t.equal(body.points.length, hours + 1, 'an hourly window spans hours + 1 buckets');

    const metrics = (await get(t, app, `/metrics/system?hours=${hours}`)).json();
    t.equal(total(body.points, (p) => p.executions), metrics.executions, 'partial edge buckets count only the window');
    t.equal(total(body.points, (p) => p.unknown), metrics.cancellations.unknown, 'unknown adds up');
    t.equal(total(body.points, (p) => p.states.cancelled!), metrics.states.cancelled, 'cancelled adds up');
  }
}

t.test('system points equal the oracle while the rows are pending a fold', systemPointsEqualTheOracle);
t.test('system points equal the oracle once the rows are folded into the rollups', async (t) => {
  t.ok((await foldPending(db.pool)) > 0, 'the rows were pending until now');
  await systemPointsEqualTheOracle(t);
});

t.test('the bucket edges land where date_trunc puts them', async (t) => {
  const body = (await get(t, app, `/metrics/worker/${encodeURIComponent(EDGE_WORKER)}/timeseries?hours=72`)).json<Series>();
  t.equal(total(body.points, (p) => p.executions), edges.length, 'every edge row counted once');
  t.same(body.points, oracle(body, EDGE_WORKER));
  const daily = (await get(t, app, `/metrics/worker/${encodeURIComponent(EDGE_WORKER)}/timeseries?hours=72&bucket=day`)).json<Series>();
  t.same(daily.points, oracle(daily, EDGE_WORKER));
  t.ok(daily.points.every((p) => p.start.endsWith('T00:00:00.000Z')), 'days start at UTC midnight');
});

t.test('worker points equal the oracle for every worker', async (t) => {
  for (const worker of WORKERS) {
    for (const hours of [1, 24, 168, 8760]) {
      const url = `/metrics/worker/${encodeURIComponent(worker)}/timeseries?hours=${hours}`;
      const response = await get(t, app, url);
      t.equal(response.statusCode, 200, url);
      const body = response.json<Series>();
      t.equal(body.worker, worker, 'the name is echoed exactly');
      t.same(body.points, oracle(body, worker), `${worker.slice(0, 30)} ${hours} h`);
    }
  }
  const idle = (await get(t, app, `/metrics/worker/${IDLE_WORKER}/timeseries?hours=24`)).json<Series>();
  t.ok(idle.points.length === 25 && idle.points.every((p) => p.executions === 0), 'an idle worker gets zero points');
});

t.test('bad input is a 400 naming the parameter, before the worker is looked up', async (t) => {
  const paths = ['/metrics/system/timeseries', `/metrics/worker/${encodeURIComponent(MAILER)}/timeseries`, '/metrics/worker/Never.Seen/timeseries'];
  const bad: [string, string][] = [
    ['hours=0', 'hours'], ['hours=1e3', 'hours'], ['hours=+5', 'hours'], ['hours=8761', 'hours'], ['hours=1&hours=2', 'hours'],
    ['bucket=week', 'bucket'], ['bucket=HOUR', 'bucket'], ['bucket=', 'bucket'], ['bucket=hour&bucket=day', 'bucket'],
  ];
  for (const path of paths) {
    for (const [query, field] of bad) {
      const response = await get(t, app, `${path}?${query}`);
      t.equal(response.statusCode, 400, `${path}?${query}`);
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      t.match(response.json(), { status: 400, detail: new RegExp(`"${field}"`) });
    }
  }
  const unknown = await get(t, app, '/metrics/worker/Never.Seen/timeseries?hours=24');
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { status: 404, detail: /has no executions/ });
  const long = await get(t, app, `/metrics/worker/${'x'.repeat(256)}/timeseries`);
  t.equal(long.statusCode, 400, 'a name over 255 characters');
});

t.test('names with slashes and quotes reach the worker route', async (t) => {
  for (const worker of [UNICODE_WORKER, SHOWTIME]) {
    const response = await get(t, app, `/metrics/worker/${encodeURIComponent(worker)}/timeseries?hours=1`);
    t.equal(response.statusCode, 200);
    t.equal(response.json().worker, worker);
  }
});
