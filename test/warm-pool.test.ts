import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool, type PoolOptions } from '../src/db/pool.ts';
import { metricsStatements } from '../src/metrics/warm-up.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());

const Prepared = z.object({ name: z.string(), generic_plans: z.number(), custom_plans: z.number() });
const Backend = z.object({ pid: z.number() });

/** A pool whose sessions can be told apart in pg_stat_activity by their application_name. */
async function warmPool(t: Pick<Test, 'teardown'>, name: string, options: Partial<PoolOptions>) {
  const url = new URL(db.url);
  url.searchParams.set('application_name', name);
  const pool = await createDatabasePool(url.toString(), { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, genericPlans: true, ...options });
  t.teardown(() => pool.end());
  return pool;
}
const backends = (name: string) =>
  db.pool.any(sql.type(Backend)`SELECT pid FROM pg_stat_activity WHERE application_name = ${name} ORDER BY pid`);
const prepared = (pool: Awaited<ReturnType<typeof warmPool>>) =>
  pool.any(sql.type(Prepared)`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name`);

const WORKER = encodeURIComponent(SHOWTIME);
const URLS = [
  '/metrics/system?hours=24',
  '/metrics/system?hours=1',
  `/metrics/worker/${WORKER}?hours=8760`,
  `/metrics/worker/${WORKER}?hours=2`,
  '/metrics/system?hours=168&compare=previous',
  '/metrics/system/timeseries?hours=720&bucket=day',
  `/metrics/worker/${WORKER}/timeseries?hours=24&bucket=hour`,
];

t.test('a warm pool opens its connections with every metrics statement already planned', async (t) => {
  const pool = await warmPool(t, 'warm-plans', { maxPoolSize: 3, warmConnections: 2, warmUp: metricsStatements() });
  t.equal((await backends('warm-plans')).length, 2, 'two connections open before any query');
  const statements = await prepared(pool);
  t.same(
    statements.map((s) => s.name),
    ['system', 'worker'].flatMap((scope) => ['timeseries', 'window_exact', 'window_rollup', 'window_size'].map((name) => `${name}_${scope}`)).sort(),
    'the four metrics statements of both scopes',
  );
  t.same(statements.filter((s) => s.generic_plans !== 1 || s.custom_plans !== 0), [], 'each run once, on its generic plan');
});

t.test('requests reuse the warmed statements: same names, same text, no new plan', async (t) => {
  for (const retention of [undefined, '30']) {
    const config = loadConfig({ RETENTION_DAYS: retention });
    const name = `warm-reuse-${retention ?? 'none'}`;
    // One connection, so every request runs on the one whose statements are listed.
    const metricsPool = await warmPool(t, name, {
      maxPoolSize: 1,
      warmConnections: 1,
      warmUp: metricsStatements(),
    });
    const app = await startTestApp(t, db, { metricsPool, config });
    // A statement sent again under its name with other text fails in node-postgres: a 500 here.
    // Settings such as RETENTION_DAYS must stay parameters, not text, for that.
    for (const url of URLS) t.equal((await get(t, app, url)).statusCode, 200, `${url} (retention ${retention ?? 'off'})`);
    const statements = await prepared(metricsPool);
    t.equal(statements.length, 8, 'no statement added: each request ran a warmed one');
    t.same(statements.filter((s) => s.custom_plans !== 0), [], 'none on a custom plan');
    const ran = statements.filter((s) => s.generic_plans > 1).map((s) => s.name);
    for (const name of ['window_size_system', 'window_rollup_system', 'window_exact_worker', 'timeseries_system', 'timeseries_worker']) {
      t.ok(ran.includes(name), `${name} ran again after its warm-up`);
    }
  }
});

t.test('warm connections stay open past the idle timeout; the others close', async (t) => {
  const pool = await warmPool(t, 'warm-idle', { maxPoolSize: 3, warmConnections: 1, idleTimeoutMs: 300, warmUp: metricsStatements() });
  t.equal((await backends('warm-idle')).length, 1, 'one connection before any query');
  // Three at once: the pool grows to three, then shrinks back to one. Which of the three stays is
  // whichever idle timer fires last (slonik's choice); every one of them was warmed when it opened.
  await Promise.all([0, 1, 2].map(() => pool.query(sql.unsafe`SELECT pg_sleep(0.2)`)));
  const grown = await backends('warm-idle');
  t.equal(grown.length, 3, 'grown to three');
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const left = await backends('warm-idle');
  t.equal(left.length, 1, 'back to one after the idle timeout');
  t.ok(grown.some(({ pid }) => pid === left[0]?.pid), 'one of the three, not a new connection');
  t.equal((await prepared(pool)).length, 8, 'and warm: the eight statements prepared on it');
});

t.test('a statement that cannot run leaves the connection cold but usable', async (t) => {
  const pool = await warmPool(t, 'warm-fails', {
    maxPoolSize: 1,
    warmConnections: 1,
    warmUp: [sql.prepared('missing', z.object({}))`SELECT * FROM no_such_table`, ...metricsStatements()],
  });
  t.equal((await backends('warm-fails')).length, 1, 'the pool opened its connection');
  t.equal(await pool.oneFirst(sql.type(z.object({ one: z.number() }))`SELECT 1 AS one`), 1, 'and it answers');
});

t.test('no warm-up asked: no connection before the first query', async (t) => {
  const pool = await warmPool(t, 'warm-none', { maxPoolSize: 2 });
  t.same(await backends('warm-none'), []);
  await pool.query(sql.unsafe`SELECT 1`);
  t.equal((await backends('warm-none')).length, 1);
});
