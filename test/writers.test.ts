import t from 'tap';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { verifyWindow } from '../src/metrics/rollup/verify.ts';
import { startTestDatabase } from './helpers/database.ts';

// The job system writes job_execution_summaries with its own sessions: its own search_path, and
// often a role of its own granted that table alone. The rollup triggers named their tables without
// a schema and wrote them with the writer's privileges, so such a writer could not insert a row at
// all (`relation "job_rollup_pending" does not exist`, `permission denied for table
// job_rollup_pending`): the execution's record was lost.
const db = await startTestDatabase(t);
const home = await db.pool.oneFirst(sql.type(z.object({ s: z.string() }))`SELECT current_schema() AS s`);
await db.pool.query(sql.unsafe`CREATE SCHEMA job_system`);

// The writer's own role where this server lets the test make one (not on TEST_DATABASE_URL's role).
const canCreateRoles = await db.pool.oneFirst(sql.type(z.object({ can: z.boolean() }))`
  SELECT rolsuper OR rolcreaterole AS can FROM pg_roles WHERE rolname = current_user`);
const url = new URL(db.url);
if (canCreateRoles) {
  const role = `job_system_writer_${process.pid}`;
  await db.pool.query(sql.unsafe`CREATE ROLE ${sql.identifier([role])} LOGIN PASSWORD 'writer-password'`);
  await db.pool.query(sql.unsafe`GRANT USAGE ON SCHEMA ${sql.identifier([home])}, job_system TO ${sql.identifier([role])}`);
  await db.pool.query(
    sql.unsafe`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ${sql.identifier([home, 'job_execution_summaries'])} TO ${sql.identifier([role])}`,
  );
  await db.pool.query(sql.unsafe`GRANT EXECUTE ON FUNCTION ${sql.identifier([home, 'job_rollup_fold'])}(integer) TO ${sql.identifier([role])}`);
  url.username = role;
  url.password = 'writer-password';
}
url.searchParams.set('options', '-c search_path=job_system');
const writer = new pg.Client({ connectionString: url.toString() });
await writer.connect();
t.teardown(() => writer.end());
const ours = (name: string) => `${pg.escapeIdentifier(home)}.${name}`;
const table = ours('job_execution_summaries');
const WORKER = 'SearchPath.Worker';
const count = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries`);
const verify = async () => [...(await verifyWindow(db.pool, 24)), ...(await verifyWindow(db.pool, 8760, WORKER))];

const whose = canCreateRoles ? "with a role granted that table alone and a search_path not the service's" : "with a search_path not the service's";
t.test(`a writer ${whose}: every kind of write is counted`, async (t) => {
  t.same((await writer.query('SHOW search_path')).rows[0].search_path, 'job_system', 'the writer searches its own schema only');
  if (canCreateRoles) {
    const { rows } = await writer.query(`SELECT has_table_privilege(${pg.escapeLiteral(ours('job_rollup_pending'))}, 'INSERT') AS can`);
    t.equal(rows[0].can, false, 'the writer may not write the rollup tables itself');
  }
  // A small statement: its rows wait in the pending table.
  await writer.query(
    `INSERT INTO ${table} (job_id, worker, state, results, duration_ms, inserted_at) VALUES
      (1, $1, 'completed', '{}', 120, now() - interval '5 minutes'),
      (2, $1, 'cancelled', '{"cancel_reason": "movie not matched"}', 40, now() - interval '2 hours'),
      (3, $1, 'cancelled', NULL, NULL, now() - interval '3 days'),
      (4, $1, 'cancelled', '{"cancel_reason": null}', 7, now() - interval '30 days')`,
    [WORKER],
  );
  // A statement over 10,000 rows folds its own rows (migration 1764040000000).
  await writer.query(
    `INSERT INTO ${table} (job_id, worker, state, results, duration_ms, inserted_at)
     SELECT 100 + i, $1, CASE WHEN i % 3 = 0 THEN 'cancelled' ELSE 'completed' END,
            CASE WHEN i % 6 = 0 THEN jsonb_build_object('cancel_reason', 'r' || (i % 4)) END, i % 5000, now() - make_interval(secs => i * 7)
     FROM generate_series(1, 12000) i`,
    [WORKER],
  );
  await writer.query(`UPDATE ${table} SET state = 'discarded' WHERE job_id = 1`);
  await writer.query(`DELETE FROM ${table} WHERE job_id = 2`);
  t.equal(await count(), 12003, 'every row written');
  t.same(await verify(), [], 'the rollup answers equal the raw rows, rows pending');
  // The fold itself, called from the writer's session.
  await writer.query(`SELECT ${ours('job_rollup_fold')}()`);
  t.equal(await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_rollup_pending`), 0, 'nothing left pending');
  t.same(await verify(), [], 'and after the fold');
  await writer.query(`TRUNCATE ${table}`);
  t.equal(await count(), 0);
  t.same(await verify(), [], 'a TRUNCATE empties the rollups with it');
});

t.test("the functions run as their owner and search their own schema, then pg_temp, and nothing else", async (t) => {
  const configs = await db.pool.any(sql.type(z.object({ name: z.string(), config: z.array(z.string()).nullable(), definer: z.boolean() }))`
    SELECT p.proname AS name, p.proconfig AS config, p.prosecdef AS definer FROM pg_proc p JOIN pg_trigger g ON g.tgfoid = p.oid
    WHERE g.tgrelid = 'job_execution_summaries'::regclass AND NOT g.tgisinternal
    UNION SELECT proname, proconfig, prosecdef FROM pg_proc WHERE oid = 'job_rollup_fold(integer)'::regprocedure`);
  t.ok(configs.length >= 6, 'every trigger function and the fold');
  // As format('%I') writes it: bare when it needs no quotes.
  const schema = /^[a-z_][a-z0-9_$]*$/.test(home) ? home : pg.escapeIdentifier(home);
  for (const { name, config, definer } of configs) {
    t.same(config, [`search_path=${schema}, pg_temp`], `${name}: its search_path`);
    t.ok(definer, `${name}: SECURITY DEFINER`);
  }
});
