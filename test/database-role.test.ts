/**
 * The service's own database role as operators set it up: granted too little, or with a
 * lock_timeout. Each must be a problem that says what to do, never a bare 500 or a wrong figure.
 */
import pg from 'pg';
import pWaitFor from 'p-wait-for';
import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const canCreateRoles = await db.pool.oneFirst(sql.type(z.object({ can: z.boolean() }))`
  SELECT rolsuper OR rolcreaterole AS can FROM pg_roles WHERE rolname = current_user`);

const READS = ['/metrics/system?hours=24', `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=8760`, '/metrics/workers', '/metrics/system/timeseries', '/job-executions'];

/** The service on pools of its own, connected as `url` says. */
async function serviceAt(t: Parameters<typeof startTestApp>[0], url: string) {
  const pool = await createDatabasePool(url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  const metricsPool = await createDatabasePool(url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2, genericPlans: true });
  t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));
  return startTestApp(t, { ...db, url, pool }, { metricsPool });
}

t.test('a role granted the raw table alone: 503 problems that say which grant is missing, then the same figures once granted', { skip: !canCreateRoles && 'this role may not create roles' }, async (t) => {
  const role = `metrics_reader_${process.pid}`;
  const schema = await db.pool.oneFirst(sql.type(z.object({ s: z.string() }))`SELECT current_schema() AS s`);
  await db.pool.query(sql.unsafe`CREATE ROLE ${sql.identifier([role])} LOGIN PASSWORD 'reader-password'`);
  t.teardown(async () => {
    await db.pool.query(sql.unsafe`REVOKE ALL ON ALL TABLES IN SCHEMA ${sql.identifier([schema])} FROM ${sql.identifier([role])}`);
    await db.pool.query(sql.unsafe`REVOKE ALL ON SCHEMA ${sql.identifier([schema])} FROM ${sql.identifier([role])}`);
    await db.pool.query(sql.unsafe`DROP ROLE ${sql.identifier([role])}`);
  });
  await db.pool.query(sql.unsafe`GRANT USAGE ON SCHEMA ${sql.identifier([schema])} TO ${sql.identifier([role])}`);
  await db.pool.query(sql.unsafe`GRANT SELECT ON job_execution_summaries TO ${sql.identifier([role])}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = 'reader-password';

  const owner = await startTestApp(t, db);
  const expected = await Promise.all(READS.map(async (path) => (await get(t, owner, path)).json()));
  const app = await serviceAt(t, url.toString());
  for (const path of READS) {
    const response = await get(t, app, path);
    t.equal(response.statusCode, 503, path);
    t.match(response.json(), { type: /database-unavailable/, detail: /role may not read or write a table it needs: grant it SELECT/ });
    t.notMatch(response.body, /permission denied|job_rollup/, 'no driver message or table name');
  }
  const ready = await get(t, app, '/health/ready');
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), { detail: /may not read the migrations table: grant it SELECT/ }, 'ready names the grant, not a migration to run');

  await db.pool.query(sql.unsafe`GRANT SELECT ON ALL TABLES IN SCHEMA ${sql.identifier([schema])} TO ${sql.identifier([role])}`);
  t.equal((await get(t, app, '/health/ready')).statusCode, 200, 'ready once granted');
  for (const [i, path] of READS.entries()) {
    const response = await get(t, app, path);
    t.equal(response.statusCode, 200, path);
    if (path.startsWith('/metrics/system?') || path.startsWith('/metrics/worker/')) {
      const answer = response.json();
      t.same({ ...answer, window: undefined, meta: undefined }, { ...expected[i], window: undefined, meta: undefined }, `${path}: the owner's figures`);
    }
  }
});

t.test("a role's lock_timeout while a maintenance job holds the table: 503 with Retry-After, not 500", async (t) => {
  const url = new URL(db.url);
  url.searchParams.set('options', '-c lock_timeout=50ms');
  const app = await serviceAt(t, url.toString());
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE job_execution_summaries IN ACCESS EXCLUSIVE MODE');
  try {
    for (const path of ['/metrics/system?hours=24', '/job-executions']) {
      const response = await get(t, app, path);
      t.equal(response.statusCode, 503, path);
      t.equal(response.headers['retry-after'], '5');
      t.match(response.json(), { type: /database-unavailable/, detail: /Another session holds a lock/ });
    }
  } finally {
    await holder.query('COMMIT');
  }
  t.equal((await get(t, app, '/metrics/system?hours=24')).statusCode, 200, 'served once the lock is gone');
});

t.test("a role whose sessions are read-only on a primary: the fold says why it cannot write, and reads stay exact", async (t) => {
  const url = new URL(db.url);
  url.searchParams.set('options', '-c default_transaction_read_only=on');
  const pool = await createDatabasePool(url.toString(), { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  t.teardown(() => pool.end());
  const lines: string[] = [];
  const app = await startTestApp(t, { ...db, url: url.toString(), pool }, {
    config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '20' }),
    logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
  });
  const owner = await startTestApp(t, db);
  await app.ready();
  await pWaitFor(() => lines.some((line) => line.includes('rollup fold')), { timeout: 10_000 });
  const said = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.msg.includes('rollup fold'));
  t.match(said[0], { level: 50, msg: /read-only \(default_transaction_read_only\).*give the service a role that may write/ }, 'an error that names the setting, not a standby');
  const path = '/metrics/system?hours=24';
  const [read, expected] = [(await get(t, app, path)).json(), (await get(t, owner, path)).json()];
  t.same({ ...read, window: undefined, meta: undefined }, { ...expected, window: undefined, meta: undefined }, 'reads stay exact');
});
