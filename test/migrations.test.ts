import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { knownMigrations, migrate, migrationStatus } from '../src/db/migrate.ts';
import { startTestDatabase } from './helpers/database.ts';
import { insertRows } from './helpers/rows.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { schemaSnapshot } from './helpers/schema-snapshot.ts';

const db = await startTestDatabase(t, { migrate: false });
const all = knownMigrations();

t.test('up applies every migration, status lists them', async (t) => {
  const empty = await migrationStatus(db.url);
  t.same(empty.pending, all);
  t.same(await migrate(db.url, { direction: 'up' }), all);
  const status = await migrationStatus(db.url);
  t.same(status.applied.map((m) => m.name), all);
  t.same(status.pending, []);
  t.same(await migrate(db.url, { direction: 'up' }), [], 'a second up has nothing to do');
});

t.test('every step down and up again leaves the same schema, and no row is lost', async (t) => {
  await insertRows(db.pool, nastyRows());
  const checksum = () =>
    db.pool.oneFirst(sql.type(z.object({ c: z.string() }))`
      SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS c FROM job_execution_summaries t
    `);
  const before = await schemaSnapshot(db.pool);
  const rowsBefore = await checksum();
  // The first migration creates the table itself; every later one must be reversible around data.
  for (let steps = 1; steps < all.length; steps++) {
    const reverted = await migrate(db.url, { direction: 'down', count: steps });
    t.same(reverted, all.slice(-steps).reverse(), `down ${steps} reverts the last ${steps}`);
    t.not(await schemaSnapshot(db.pool), before, 'the schema changed');
    await migrate(db.url, { direction: 'up' });
    t.equal(await schemaSnapshot(db.pool), before, `up after down ${steps} gives the same schema`);
    t.equal(await checksum(), rowsBefore, 'no row lost or changed');
  }
});

t.test('down all the way leaves no trace, up rebuilds the same schema', async (t) => {
  const before = await schemaSnapshot(db.pool);
  await migrate(db.url, { direction: 'down', count: all.length });
  const left = await db.pool.anyFirst(sql.type(z.object({ name: z.string() }))`
    SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'pgmigrations%'
  `);
  t.same(left, [], 'nothing of ours is left');
  await migrate(db.url, { direction: 'up' });
  t.equal(await schemaSnapshot(db.pool), before);
});

t.test('the table enforces the contract', async (t) => {
  const attempt = (values: ReturnType<typeof sql.fragment>) =>
    db.pool.query(sql.unsafe`INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms) VALUES ${values}`);
  await t.rejects(attempt(sql.fragment`(1, 'w', 'running', 1)`), 'unknown state');
  await t.rejects(attempt(sql.fragment`(1, 'w', 'completed', -1)`), 'negative duration');
  await t.rejects(attempt(sql.fragment`(1, '', 'completed', 1)`), 'empty worker');
  await t.rejects(attempt(sql.fragment`(1, ${'x'.repeat(256)}, 'completed', 1)`), 'worker over 255 characters');
  await attempt(sql.fragment`(77, 'w', 'completed', 0)`);
  await t.rejects(attempt(sql.fragment`(77, 'w', 'completed', 0)`), 'the same job_id and attempt twice');
  const row = await db.pool.one(sql.type(z.object({ attempt: z.number(), inserted_at: z.string() }))`
    SELECT attempt, inserted_at FROM job_execution_summaries WHERE job_id = 77
  `);
  t.equal(row.attempt, 1, 'attempt defaults to 1');
  t.ok(Math.abs(Date.parse(row.inserted_at) - Date.now()) < 60_000, 'inserted_at defaults to now()');
});
