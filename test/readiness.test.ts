import t from 'tap';
import { sql } from 'slonik';
import { knownMigrations } from '../src/db/migrate.ts';
import { startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);
const all = knownMigrations();

const ready = async () => {
  const response = await app.inject('/health/ready');
  return { status: response.statusCode, type: response.headers['content-type'], body: response.json() };
};

t.test('ready when exactly this release’s migrations are applied', async (t) => {
  t.same(await ready(), { status: 200, type: 'application/json; charset=utf-8', body: { status: 'ready', migration: all.at(-1) } });
});

t.test('an earlier migration missing from the record is named, though the latest is there', async (t) => {
  const earlier = all[2]!;
  await db.pool.query(sql.unsafe`DELETE FROM pgmigrations WHERE name = ${earlier}`);
  t.teardown(() => db.pool.query(sql.unsafe`INSERT INTO pgmigrations (name, run_on) VALUES (${earlier}, now())`));
  const answer = await ready();
  t.equal(answer.status, 503);
  t.equal(answer.type, 'application/problem+json; charset=utf-8');
  t.match(answer.body.detail, `not applied: ${earlier}`);
  t.notMatch(answer.body.detail, 'applied but not in this release');
});

t.test('a migration this release does not know is named', async (t) => {
  await db.pool.query(sql.unsafe`INSERT INTO pgmigrations (name, run_on) VALUES ('9999999999999_from-the-future', now())`);
  t.teardown(() => db.pool.query(sql.unsafe`DELETE FROM pgmigrations WHERE name = '9999999999999_from-the-future'`));
  const answer = await ready();
  t.equal(answer.status, 503);
  t.match(answer.body.detail, 'applied but not in this release: 9999999999999_from-the-future');
});

t.test('ready again once the record matches', async (t) => {
  t.equal((await ready()).status, 200);
});
