import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'slonik';
import { z } from 'zod';
import { knownMigrations, migrate, migrationStatus, MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { failures, runScript } from './helpers/cli.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';
import { schemaSnapshot } from './helpers/schema-snapshot.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const env = { DATABASE_URL: db.url };
const INDEX = 'idx_job_summaries_cancel_reason';
const migrateCli = (...args: string[]) => runScript('migrate', args, env);

/** Row count and a checksum of every row, in id order: equal before and after means no row lost or changed. */
const tableState = () =>
  db.pool.one(sql.type(z.object({ rows: z.number(), checksum: z.string() }))`
    SELECT count(*) AS rows, md5(string_agg(t::text, '|' ORDER BY id)) AS checksum FROM job_execution_summaries t
  `);

const indexValid = (name: string) =>
  db.pool.maybeOneFirst(sql.type(z.object({ valid: z.boolean() }))`
    SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ${name}
  `);

/** A migrations folder of this release's steps (re-exported) plus fixture steps written by the test. */
async function migrationsWith(t: Tap, fixtures: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const name of knownMigrations()) {
    await writeFile(join(dir, `${name}.ts`), `export * from '${pathToFileURL(join(MIGRATIONS_DIR, `${name}.ts`)).href}';\n`);
  }
  for (const [name, source] of Object.entries(fixtures)) await writeFile(join(dir, `${name}.ts`), source);
  return dir;
}
type Tap = Pick<typeof t, 'teardown'>;

t.test('§3 migrate down 1 and up again: the same schema, no row lost', async (t) => {
  const schema = await schemaSnapshot(db.pool);
  const rows = await tableState();
  const down = await migrateCli('down', '1');
  t.equal(down.code, 0, 'exits 0', { output: down.stdout + down.stderr });
  t.match(down.stdout, `reverted ${knownMigrations().at(-1)}`);
  t.same(await tableState(), rows, 'down 1 lost no row');
  const doctor = await runScript('doctor', [], env);
  t.equal(doctor.code, 1, 'the doctor sees the reverted schema');
  t.match(failures(doctor)[0], /^FAIL  migrations current: 1 pending/);
  const up = await migrateCli('up');
  t.equal(up.code, 0, 'exits 0', { output: up.stdout + up.stderr });
  t.equal(await schemaSnapshot(db.pool), schema, 'up gives the same schema');
  t.same(await tableState(), rows, 'same rows, same checksum');
});

t.test('§4 a transactional migration that fails midway leaves schema and data as they were', async (t) => {
  const dir = await migrationsWith(t, {
    '9000000000000_fails-midway': `
      export async function up(pgm) {
        pgm.sql('ALTER TABLE job_execution_summaries ADD COLUMN doomed text');
        pgm.sql("UPDATE job_execution_summaries SET doomed = 'x', duration_ms = 0");
        pgm.sql('CREATE INDEX idx_doomed ON job_execution_summaries (doomed)');
        pgm.sql('SELECT 1 / 0');
      }
      export async function down(pgm) { pgm.sql('ALTER TABLE job_execution_summaries DROP COLUMN doomed'); }
    `,
  });
  const schema = await schemaSnapshot(db.pool);
  const rows = await tableState();
  await t.rejects(migrate(db.url, { direction: 'up', dir }), /division by zero/);
  t.equal(await schemaSnapshot(db.pool), schema, 'no column, no index left');
  t.same(await tableState(), rows, 'no row changed');
  t.same((await migrationStatus(db.url, dir)).pending, ['9000000000000_fails-midway'], 'still pending: fix it, run up again');
  t.same((await migrationStatus(db.url)).pending, [], 'the release’s own record is untouched');
});

t.test('§4 a failed CONCURRENTLY build leaves an INVALID index; a re-run after the data fix cleans it up', async (t) => {
  const helper = pathToFileURL(join(MIGRATIONS_DIR, 'lib/concurrent-index.ts')).href;
  const dir = await migrationsWith(t, {
    '9000000000100_reciprocal-index': `
      import { createIndexConcurrently, dropIndexConcurrently } from '${helper}';
      export async function up(pgm) {
        await createIndexConcurrently(pgm, 'idx_fixture_reciprocal', 'ON job_execution_summaries ((100 / (duration_ms - 424242)))');
      }
      export async function down(pgm) { dropIndexConcurrently(pgm, 'idx_fixture_reciprocal'); }
    `,
  });
  await db.pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms) VALUES (424242, 'Fixture.Worker', 'completed', 424242)
  `);
  await t.rejects(migrate(db.url, { direction: 'up', dir }), /division by zero/);
  t.equal(await indexValid('idx_fixture_reciprocal'), false, 'the build left an INVALID index');
  t.same((await migrationStatus(db.url, dir)).pending, ['9000000000100_reciprocal-index'], 'not recorded');

  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id = 424242`);
  t.same(await migrate(db.url, { direction: 'up', dir }), ['9000000000100_reciprocal-index'], 'the re-run succeeds');
  t.equal(await indexValid('idx_fixture_reciprocal'), true, 'the leftover was dropped and rebuilt valid');
  await migrate(db.url, { direction: 'down', dir });
  t.equal(await indexValid('idx_fixture_reciprocal'), null, 'down leaves no trace');
});

t.test('§4 the real index migration, re-run over an INVALID leftover of its own name', async (t) => {
  const schema = await schemaSnapshot(db.pool);
  // Revert down to (and including) the migration that builds it; later ones come back with up.
  const all = knownMigrations();
  const steps = all.length - all.indexOf('1764000000100_add-cancel-reason-gin-index');
  t.equal((await migrateCli('down', String(steps))).code, 0);
  t.equal(await indexValid(INDEX), null, 'reverted: the index is gone');
  await t.rejects(db.pool.query(sql.unsafe`CREATE UNIQUE INDEX CONCURRENTLY ${sql.identifier([INDEX])} ON job_execution_summaries (worker)`));
  t.equal(await indexValid(INDEX), false);
  const up = await migrateCli('up');
  t.equal(up.code, 0, 'exits 0', { output: up.stdout + up.stderr });
  t.equal(await schemaSnapshot(db.pool), schema, 'the GIN index is back, valid, nothing else changed');
});

t.test('§4 repairing the record: unmark and mark-applied keep the release’s order', async (t) => {
  const all = knownMigrations();
  const latest = all.at(-1)!;
  const schema = await schemaSnapshot(db.pool);
  const wrong = await migrateCli('unmark', all[0]!);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, `only the latest applied migration (${latest}) can be unmarked`);
  t.equal((await migrateCli('unmark', latest)).code, 0);
  t.same((await migrationStatus(db.url)).pending, [latest], 'recorded as not applied');
  t.equal(await schemaSnapshot(db.pool), schema, 'nothing ran: the schema is as it was');
  const reapplyPending = await migrateCli('reapply', latest);
  t.equal(reapplyPending.code, 1);
  t.match(reapplyPending.stderr, `${latest} is not applied`);
  t.equal((await migrateCli('mark-applied', latest)).code, 0);
  const status = await migrationStatus(db.url);
  t.same([status.pending, status.applied.map((m) => m.name)], [[], all], 'recorded again, in order');
  t.equal(await schemaSnapshot(db.pool), schema);
  t.equal((await migrateCli('mark-applied', latest)).code, 1, 'nothing pending: nothing to mark');
});
