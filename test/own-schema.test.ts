import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { buildApp } from '../src/app.ts';
import { knownMigrations, migrate, migrationStatus } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { runScript } from './helpers/cli.ts';
import { startTestDatabase } from './helpers/database.ts';

// A shared database where the service gets a role and a schema of its own, named after the role
// (so the default search_path, "$user", public, finds it first), and may not create in public:
// PostgreSQL 15's default for every role but the database's owner. node-pg-migrate put its table in
// public regardless, so `migrate up` failed before its first step ("Unable to ensure migrations
// table: error: permission denied for schema public", with a stack trace). Such roles often have a
// statement_timeout of their own, too.
const db = await startTestDatabase(t, { migrate: false });
const canCreateRoles = await db.pool.oneFirst(sql.type(z.object({ can: z.boolean() }))`
  SELECT rolsuper OR rolcreaterole AS can FROM pg_roles WHERE rolname = current_user`);
const role = `job_metrics_own_${process.pid}`;
const url = new URL(db.url);
url.username = role;
url.password = 'own-schema-password';
const roleUrl = url.toString();

t.test('a role that may create only in its own schema, with a short statement_timeout, migrates, serves and rolls back there', async (t) => {
  if (!canCreateRoles) return t.comment("skipped: TEST_DATABASE_URL's role may not create roles");
  const id = sql.identifier([role]);
  await db.pool.query(sql.unsafe`CREATE ROLE ${id} LOGIN PASSWORD 'own-schema-password'`);
  await db.pool.query(sql.unsafe`CREATE SCHEMA ${id} AUTHORIZATION ${id}`);
  await db.pool.query(sql.unsafe`REVOKE CREATE ON SCHEMA public FROM PUBLIC`); // PostgreSQL 15's default, made sure of
  t.teardown(async () => {
    await db.pool.query(sql.unsafe`DROP SCHEMA ${id} CASCADE`);
    await db.pool.query(sql.unsafe`DROP OWNED BY ${id}`);
    await db.pool.query(sql.unsafe`DROP ROLE ${id}`);
  });
  t.equal(
    await db.pool.oneFirst(sql.type(z.object({ can: z.boolean() }))`SELECT has_schema_privilege(${role}, 'public', 'CREATE') AS can`),
    false,
    'the role may not create in public',
  );

  t.same(await migrate(roleUrl, { direction: 'up' }), knownMigrations(), 'migrate up applies every step');
  const placed = await db.pool.any(sql.type(z.object({ schema: z.string(), name: z.string() }))`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relname IN ('pgmigrations', 'job_execution_summaries', 'job_rollups') ORDER BY 2`);
  t.same(placed.map((p) => p.schema), [role, role, role], 'its record and its tables in the role’s schema');
  const status = await migrationStatus(roleUrl);
  t.same([status.applied.length, status.pending, status.unknown], [knownMigrations().length, [], []], 'status reads the same record');

  const pool = await createDatabasePool(roleUrl, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
  t.teardown(() => pool.end());
  await pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, worker, state, results, duration_ms, inserted_at) VALUES
      (1, 'Own.Worker', 'cancelled', NULL, 10, now() - interval '1 hour'),
      (2, 'Own.Worker', 'cancelled', '{"cancel_reason": "venue closed"}', 20, now() - interval '2 hours'),
      (3, 'Own.Worker', 'completed', '{}', 30, now() - interval '3 hours')`);
  const app = await buildApp({ shedLoad: false, pool, metricsPool: pool });
  t.teardown(() => app.close());
  t.match((await app.inject('/metrics/system?hours=24')).json(), {
    executions: 3,
    cancellations: { total: 2, unknown: 1, by_reason: [{ reason: 'venue closed', count: 1 }] },
  });
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'ready: the schema is current');

  const doctor = await runScript('doctor', [], { DATABASE_URL: roleUrl });
  t.same(doctor.stdout.split('\n').filter((line) => line.startsWith('FAIL')), [], 'the doctor finds nothing wrong');
  t.equal(doctor.code, 0);

  t.equal((await migrate(roleUrl, { direction: 'down', count: Infinity })).length, knownMigrations().length, 'every step down');
  t.equal(await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = ${role}::regnamespace AND relkind = 'r' AND relname <> 'pgmigrations'`), 0, 'leaves only the record');

  // Up again over 100,000 rows, the role now with a statement_timeout far below the rollup
  // backfill's time: it was cancelled half-way ("canceling statement due to statement timeout").
  t.same(await migrate(roleUrl, { direction: 'up', count: 1 }), knownMigrations().slice(0, 1), 'the table back');
  await db.pool.query(sql.unsafe`
    INSERT INTO ${sql.identifier([role, 'job_execution_summaries'])} (job_id, worker, state, results, duration_ms, inserted_at)
    SELECT i, 'Own.Worker.' || (i % 7), CASE WHEN i % 3 = 0 THEN 'cancelled' ELSE 'completed' END,
      CASE WHEN i % 6 = 0 THEN '{"cancel_reason": "venue closed"}'::jsonb END, i % 5000, now() - make_interval(secs => i * 30)
    FROM generate_series(1, 100000) i`);
  await db.pool.query(sql.unsafe`ALTER ROLE ${id} SET statement_timeout = '20ms'`);
  t.same(await migrate(roleUrl, { direction: 'up' }), knownMigrations().slice(1), 'the rest up, past the role’s statement_timeout of 20 ms');
  // The seed's query over the same rows (30 s apart: the window's edge moves by none in between).
  const oracle = await db.pool.any(sql.type(z.object({ reason: z.string(), count: z.number() }))`
    SELECT CASE WHEN results->>'cancel_reason' IS NULL THEN 'unknown' ELSE results->>'cancel_reason' END AS reason, count(*)::int AS count
    FROM ${sql.identifier([role, 'job_execution_summaries'])} WHERE state = 'cancelled' AND inserted_at > now() - interval '24 hours'
    GROUP BY 1 ORDER BY 1 DESC`);
  t.same(oracle.map((r) => r.reason), ['venue closed', 'unknown']);
  t.same(
    (await app.inject('/metrics/system?hours=24')).json().cancellations,
    { total: oracle[0]!.count + oracle[1]!.count, unknown: oracle[1]!.count, by_reason: [{ reason: 'venue closed', count: oracle[0]!.count }], other_reasons: { count: 0, reasons: 0 } },
    'and the backfilled rollups answer as the seed query says',
  );
});

t.test('a search_path that names no schema that exists: one line saying so, and nothing created', async (t) => {
  const nowhere = new URL(db.url);
  nowhere.searchParams.set('options', '-c search_path=no_such_schema');
  const cli = await runScript('migrate', ['up'], { DATABASE_URL: nowhere.toString() });
  t.equal(cli.code, 1);
  t.equal(
    cli.stderr.trim(),
    'error: no schema to create the tables in: the search_path (no_such_schema) names none that exists; create it, or set the role\'s search_path',
  );
  t.equal(await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'pgmigrations'`), 0);
});
