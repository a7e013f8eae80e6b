import t from 'tap';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { pgQuery } from '../bench/lib/plan.ts';
import { createDatabasePool, withSessionOptions } from '../src/db/pool.ts';
import { withoutOptions } from '../src/db/session-settings.ts';
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());

const setting = (pool: typeof db.pool, name: string) =>
  pool.oneFirst(sql.type(z.object({ value: z.string() }))`SELECT current_setting(${name}) AS value`);

t.test('the URL keeps what it had and starts its options with jit off', async (t) => {
  t.equal(new URL(withSessionOptions('postgres://u:p@h:5432/db')).searchParams.get('options'), '-c jit=off -c tcp_keepalives_idle=60 -c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=1');
  const given = new URL(withSessionOptions('postgresql://u:p%40ss@db.internal/db?options=-c%20search_path%3Dx&sslmode=require'));
  t.equal(given.searchParams.get('options'), '-c jit=off -c tcp_keepalives_idle=60 -c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=1 -c search_path=x', "the operator's options come last, so they win");
  t.equal(given.searchParams.get('sslmode'), 'require');
  t.equal(decodeURIComponent(given.password), 'p@ss');
  t.equal(given.host, 'db.internal');
  const socket = new URL(withSessionOptions('postgres:///db?host=/run/postgresql'));
  t.equal(socket.searchParams.get('host'), '/run/postgresql', 'a Unix socket directory stays');
  t.equal(socket.pathname, '/db');
});

t.test('behind a pooler the options become settings: every form PostgreSQL takes, and a clear error otherwise', async (t) => {
  const url = withSessionOptions('postgres://u:p@h:5432/db?options=-c%20search_path%3Dx%20--work_mem%3D5MB%20-cstatement_timeout%3D3s&sslmode=require');
  const plain = withoutOptions(url);
  t.same(plain.settings, [
    ['jit', 'off'],
    ['tcp_keepalives_idle', '60'],
    ['DateStyle', 'ISO'],
    ['TimeZone', 'UTC'],
    ['extra_float_digits', '1'],
    ['search_path', 'x'],
    ['work_mem', '5MB'],
    ['statement_timeout', '3s'],
  ]);
  t.equal(new URL(plain.url).searchParams.get('options'), null, 'no startup options left');
  t.equal(new URL(plain.url).searchParams.get('sslmode'), 'require', 'the rest of the URL stays');
  t.throws(() => withoutOptions('postgres://u:p@h/db?options=-c%20jit'), /only -c name=value/);
  t.throws(() => withoutOptions('postgres://u:p@h/db?options=-d%205'), /only -c name=value/);
});

t.test("the service's sessions run with JIT off; options in DATABASE_URL still apply", async (t) => {
  t.equal(await setting(db.pool, 'jit'), 'off');
  // Over a Unix socket (a TEST_DATABASE_URL with host=/run/postgresql) the setting reads 0: no TCP.
  const overTcp = await db.pool.oneFirst(sql.type(z.object({ tcp: z.boolean() }))`SELECT inet_client_addr() IS NOT NULL AS tcp`);
  if (overTcp) t.equal(await setting(db.pool, 'tcp_keepalives_idle'), '60', 'the server keeps idle sessions alive through NATs');
  const url = new URL(db.url);
  url.searchParams.set('options', '-c jit=on -c work_mem=5MB');
  const pool = await createDatabasePool(url.toString(), { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  t.teardown(() => pool.end());
  t.equal(await setting(pool, 'jit'), 'on', 'an operator who wants JIT back says so in the URL');
  t.equal(await setting(pool, 'work_mem'), '5MB');
});

// On a server built with LLVM (Debian's packages) a system window's plan was JIT-compiled on every
// execution: ≈ 0.5 s for a query that runs in under 10 ms.
t.test('JIT, on a server that has it', async (t) => {
  const client = new pg.Client({ connectionString: withSessionOptions(db.url) });
  await client.connect();
  t.teardown(() => client.end());
  // pg_jit_available() is false while jit is off, so ask with it on.
  const [, , available] = (await client.query('BEGIN; SET LOCAL jit = on; SELECT pg_jit_available() AS available')) as unknown as pg.QueryResult[];
  await client.query('ROLLBACK');
  const noJit = available!.rows[0].available ? false : 'this server has no JIT (the embedded binaries are built without LLVM)';

  await t.test('no metrics query is JIT-compiled', { skip: noJit }, async (t) => {
    const jitOf = async (jit: 'on' | 'default') => {
      await client.query('BEGIN');
      try {
        // Every plan passes a threshold of 0, whatever the table sizes.
        await client.query('SET LOCAL jit_above_cost = 0');
        if (jit === 'on') await client.query('SET LOCAL jit = on');
        const query = pgQuery(rollupMetricsQuery(8760, 0));
        const explained = await client.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${query.text}`, values: query.values as unknown[] });
        return explained.rows[0]['QUERY PLAN'][0].JIT as { Functions: number } | undefined;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    t.ok((await jitOf('on'))?.Functions, 'with jit on the server compiles the query (the check can fail)');
    t.equal(await jitOf('default'), undefined, "in the service's session it does not");
  });
});

// slonik closes a connection idle for 5 s by default, and a new one replans (and runs custom plans
// of) every metrics statement: an occasional client met that on every request.
t.test('an idle connection is kept for idleTimeoutMs, then closed', async (t) => {
  const backend = (pool: typeof db.pool) => pool.oneFirst(sql.type(z.object({ pid: z.number() }))`SELECT pg_backend_pid() AS pid`);
  const open = (idleTimeoutMs: number) => createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, idleTimeoutMs });
  const [kept, closed] = await Promise.all([open(60_000), open(500)]);
  t.teardown(() => Promise.all([kept.end(), closed.end()]));
  const before = await Promise.all([backend(kept), backend(closed)]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const after = await Promise.all([backend(kept), backend(closed)]);
  t.equal(after[0], before[0], 'kept: the same backend serves again');
  t.not(after[1], before[1], 'closed after 500 ms idle: a new backend (the option reaches slonik)');
});

// A server (or a proxy) may close a connection the pool still holds idle: idle_session_timeout, a
// restart, a failover. The pool must notice and open another, not hand the dead one to a request.
t.test('a connection the server closed while idle is replaced, not used', async (t) => {
  const database = new URL(db.url).pathname.slice(1);
  const pool = await createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, idleTimeoutMs: 60_000 });
  t.teardown(() => pool.end());
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  t.teardown(() => client.end());
  await client.query(`ALTER DATABASE "${database}" SET idle_session_timeout = '300ms'`);
  t.teardown(() => client.query(`ALTER DATABASE "${database}" RESET idle_session_timeout`));
  const first = await pool.oneFirst(sql.type(z.object({ pid: z.number() }))`SELECT pg_backend_pid() AS pid`);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const second = await pool.oneFirst(sql.type(z.object({ pid: z.number() }))`SELECT pg_backend_pid() AS pid`);
  t.not(second, first, 'a new backend answered');
});

t.test('genericPlans: the sessions plan each prepared statement once, generically, without parallel workers, with room to hash', async (t) => {
  const generic = await createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, genericPlans: true });
  t.teardown(() => generic.end());
  t.equal(await setting(generic, 'plan_cache_mode'), 'force_generic_plan');
  t.equal(await setting(generic, 'jit'), 'off');
  t.equal(await setting(generic, 'max_parallel_workers_per_gather'), '0', 'no parallel workers for the reads');
  t.equal(await setting(generic, 'hash_mem_multiplier'), '8', 'hash tables, not disk sorts, group a backlog’s pending rows');
  t.equal(await setting(db.pool, 'plan_cache_mode'), 'auto', 'the other pool keeps PostgreSQL’s choice');
  t.not(await setting(db.pool, 'max_parallel_workers_per_gather'), '0', 'nor for the other pool');
});

// On a new connection PostgreSQL ran each metrics statement's first five executions on custom plans
// (≈ 130 ms each against ≈ 9 ms), and kept the time series on custom plans 2–3× slower.
t.test('the metrics windows and time series run on the metrics pool, on generic plans from the first', async (t) => {
  // One connection, so the statements it prepared can be listed on it afterwards.
  const metricsPool = await createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 1, genericPlans: true });
  const app = await startTestApp(t, db, { metricsPool });
  t.teardown(() => metricsPool.end());
  const worker = encodeURIComponent(SHOWTIME);
  for (const url of ['/metrics/system?hours=24', `/metrics/worker/${worker}?hours=8760`, '/metrics/system?hours=168&compare=previous', `/metrics/worker/${worker}/timeseries?hours=24&bucket=hour`, '/metrics/system/timeseries?hours=720&bucket=day']) {
    t.equal((await get(t, app, url)).statusCode, 200, url);
  }
  const statements = await metricsPool.any(sql.type(z.object({ name: z.string(), generic_plans: z.number(), custom_plans: z.number() }))`
    SELECT name, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name`);
  const names = statements.map((s) => s.name);
  for (const prefix of ['window_size_', 'timeseries_']) t.ok(names.some((name) => name.startsWith(prefix)), `${prefix}… ran on the metrics pool`);
  t.ok(names.some((name) => name.startsWith('window_rollup_') || name.startsWith('window_exact_')), 'a window query ran on the metrics pool');
  t.same(statements.filter((s) => s.custom_plans > 0), [], 'no custom plan');

  const exposition = (await get(t, app, '/metrics')).body;
  t.match(exposition, /^job_metrics_db_pool_connections_max 11$/m, 'the pool gauges count both pools (10 + 1)');
});

t.test("a database whose default is extra_float_digits = -15 still gets every digit of avg and the percentiles", async (t) => {
  const exact = await get(t, await startTestApp(t, db), `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=8760`);
  const name = new URL(db.url).pathname.slice(1);
  await db.pool.query(sql.unsafe`ALTER DATABASE ${sql.identifier([name])} SET extra_float_digits = -15`);
  t.teardown(() => db.pool.query(sql.unsafe`ALTER DATABASE ${sql.identifier([name])} RESET extra_float_digits`));
  // New sessions take the database's default; these pools are made after.
  const pool = await createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  const metricsPool = await createDatabasePool(db.url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, genericPlans: true });
  t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));
  t.equal(await setting(pool, 'extra_float_digits'), '1', "the service's sessions set their own");
  const app = await startTestApp(t, { ...db, pool }, { metricsPool });
  const found = (await get(t, app, `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=8760`)).json();
  const expected = exact.json();
  t.ok(!Number.isInteger(expected.duration_ms.avg), `the avg has a fraction to lose (${expected.duration_ms.avg})`);
  t.same(found.duration_ms, expected.duration_ms, 'the same doubles, to the last digit');
});
