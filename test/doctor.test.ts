import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { failures, runScript } from './helpers/cli.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const env = { DATABASE_URL: db.url };
const INDEX = 'idx_job_summaries_cancelled_reason';
const doctor = (extra: Record<string, string> = {}) => runScript('doctor', [], { ...env, ...extra });

const indexValid = () =>
  db.pool.maybeOneFirst(sql.type(z.object({ valid: z.boolean() }))`
    SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ${INDEX}
  `);

/** Runs the fix the doctor printed, exactly as printed (`fix: npm run migrate -- …`). */
async function runPrintedFix(t: Test, output: string) {
  const fix = /fix: npm run migrate -- (.+)/.exec(output)?.[1];
  t.ok(fix, 'the doctor names the fix');
  const result = await runScript('migrate', fix!.trim().split(/\s+/), env);
  t.equal(result.code, 0, `npm run migrate -- ${fix}`, { output: result.stdout + result.stderr });
}

t.test('a healthy database passes every check', async (t) => {
  const result = await doctor();
  t.equal(result.code, 0, 'exits 0', { output: result.stdout + result.stderr });
  t.same(failures(result), []);
  for (const check of ['database reachable', 'migrations current', `index ${INDEX}`, 'metrics match the database (24 h)', 'unknown share per worker', 'SQL time: system metrics', 'SQL time: busiest worker']) {
    t.match(result.stdout, new RegExp(`^PASS  ${check.replace(/[()]/g, '\\$&')}`, 'm'), check);
  }
  t.match(result.stdout, /doctor: all \d+ checks passed/);
});

t.test('§1 a dropped index: doctor fails, the documented fix repairs it', async (t) => {
  const recordBefore = await db.pool.anyFirst(sql.type(z.object({ name: z.string() }))`SELECT name FROM pgmigrations ORDER BY id`);
  await db.pool.query(sql.unsafe`DROP INDEX ${sql.identifier([INDEX])}`);
  const broken = await doctor();
  t.equal(broken.code, 1);
  t.match(failures(broken), [new RegExp(`^FAIL  index ${INDEX}: missing`)]);
  await runPrintedFix(t, broken.stdout);
  t.equal(await indexValid(), true, 'the index is back and valid');
  t.same(await db.pool.anyFirst(sql.type(z.object({ name: z.string() }))`SELECT name FROM pgmigrations ORDER BY id`), recordBefore, 'the migration record is as it was');
  t.equal((await doctor()).code, 0, 'doctor passes again');
});

t.test('§1/§4 an INVALID index from a failed CONCURRENTLY build is detected and rebuilt', async (t) => {
  await db.pool.query(sql.unsafe`DROP INDEX ${sql.identifier([INDEX])}`);
  // A unique build over duplicated workers fails after the index entry is committed: INVALID.
  await t.rejects(db.pool.query(sql.unsafe`CREATE UNIQUE INDEX CONCURRENTLY ${sql.identifier([INDEX])} ON job_execution_summaries (worker)`));
  t.equal(await indexValid(), false, 'the leftover is INVALID');
  const broken = await doctor();
  t.equal(broken.code, 1);
  t.match(failures(broken), [new RegExp(`^FAIL  index ${INDEX}: INVALID`)]);
  await runPrintedFix(t, broken.stdout);
  t.equal(await indexValid(), true);
  const definition = await db.pool.oneFirst(sql.type(z.object({ d: z.string() }))`SELECT pg_get_indexdef(${INDEX}::regclass) AS d`);
  t.match(definition, /USING btree \("left"\(\(results ->> 'cancel_reason'::text\), 200\), inserted_at, id\) WHERE/, 'the migration’s index, not the leftover');
  t.equal((await doctor()).code, 0);
});

t.test('§1 a fold backlog: doctor fails naming the command that drains it', async (t) => {
  // No service runs here, so nothing folds: 100,001 inserted rows, 10,000 a statement (a bigger
  // statement folds its own rows), all wait in job_rollup_pending.
  await db.pool.query(sql.unsafe`
    DO $$
    BEGIN
      FOR k IN 0 .. 10 LOOP
        INSERT INTO job_execution_summaries (job_id, attempt, worker, state, duration_ms, inserted_at)
        SELECT 900000000 + i, 1, 'Backlog.Worker', 'completed', i % 1000, now() - make_interval(secs => i % 86400)
        FROM generate_series(1 + k * 10000, least(100001, (k + 1) * 10000)) AS i;
      END LOOP;
    END $$
  `);
  const broken = await doctor();
  t.equal(broken.code, 1);
  t.match(failures(broken), [/^FAIL  rollup fold keeps up: more than 100000 inserted rows wait/], 'only the backlog fails: reads stay exact');
  const fix = /fix: npm run rollup -- (\w+)/.exec(broken.stdout)?.[1];
  t.equal(fix, 'fold', 'the doctor names the command');
  t.match(broken.stdout, /pg_stat_progress_vacuum/, 'and where to look when a running fold drains slowly');
  const folded = await runScript('rollup', [fix!], env);
  t.ok(Number(/folded (\d+) pending rows/.exec(folded.stdout)?.[1]) > 100_000, 'it folds the backlog', { output: folded.stdout });
  t.equal(await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM job_rollup_pending`), 0, 'none left');
  t.equal((await doctor()).code, 0, 'doctor passes again');
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE worker = 'Backlog.Worker'`);
});

t.test("a role whose sessions are read-only on a primary: doctor says the fold cannot run, before any backlog shows", async (t) => {
  const url = new URL(db.url);
  url.searchParams.set('options', '-c default_transaction_read_only=on');
  const result = await doctor({ DATABASE_URL: url.toString() });
  t.equal(result.code, 1, 'fails', { output: result.stdout + result.stderr });
  t.match(failures(result), [/^FAIL  rollup fold keeps up: this role's sessions are read-only on a primary/], 'that check alone fails: reads are fine');
  t.match(result.stdout, /ALTER ROLE <role> RESET default_transaction_read_only/, 'and names the fix');
});
