import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { knownMigrations, migrate, MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { auditRollups } from '../src/metrics/rollup/verify.ts';
import { startTestApp } from './helpers/app.ts';
import { dropDatabase, startTestDatabase, type TestDatabase } from './helpers/database.ts';
import { IDLE_WORKER, MAILER, nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows, type TestRow } from './helpers/rows.ts';
import { schemaSnapshot } from './helpers/schema-snapshot.ts';

/**
 * An installed database, migrated by an earlier release and holding rows, then migrated by this
 * one, must be exactly a fresh install: the same schema, every row kept, the same answers, rollups
 * equal to the raw rows. Earlier releases are (1) the ones kept whole under test/fixtures/releases/
 * (their migrations imported code that has changed since, so they are kept with that code) and
 * (2) every prefix of this release's own migrations, which are frozen.
 */
// One database per earlier step, each migrated twice: more than tap's default 120 s on a busy machine.
t.setTimeout(600_000);
const cluster = await startTestDatabase(t, { migrate: false });
const serverMajor = Math.floor(
  Number(await cluster.pool.oneFirst(sql.type(z.object({ v: z.string() }))`SELECT current_setting('server_version_num') AS v`)) / 10_000,
);
const RELEASES_DIR = fileURLToPath(new URL('fixtures/releases/', import.meta.url));
/**
 * Before PostgreSQL 15 support: the rollups' backfill and UPDATE/DELETE triggers called
 * `date_add(…, 'UTC')` (16+) until 1764010000000 replaced it, so no such install exists on 15.
 */
const NEEDS_16 = new Set(['4301c9c', '1764009000000_create-job-rollups']);

/** Databases beside the test's own, on the same server, dropped afterwards. */
let databases = 0;
async function newDatabase(t: Test): Promise<TestDatabase> {
  const base = new URL(cluster.url);
  const name = `${decodeURIComponent(base.pathname.slice(1))}_upgrade_${++databases}`;
  await cluster.pool.query(sql.unsafe`CREATE DATABASE ${sql.identifier([name])}`);
  base.pathname = `/${name}`;
  const url = base.toString();
  const pool = await createDatabasePool(url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
  t.teardown(async () => {
    await pool.end();
    await dropDatabase(cluster.url, name);
  });
  return { ...cluster, url, pool };
}

/** A year of rows of every shape, plus writes that exercise the UPDATE and DELETE triggers. */
async function write(pool: DatabasePool): Promise<void> {
  const rows: TestRow[] = nastyRows();
  const workers = [SHOWTIME, MAILER, UNICODE_WORKER];
  const states = ['completed', 'cancelled', 'retryable', 'discarded', 'snoozed'] as const;
  for (let i = 0; i < 600; i++) {
    const state = states[(i * 7) % 5]!;
    rows.push({
      job_id: 100_000 + i,
      worker: workers[i % 3]!,
      state,
      results: state === 'cancelled' ? (i % 4 === 0 ? {} : { cancel_reason: `reason ${i % 6}` }) : { ok: true },
      duration_ms: i % 11 === 0 ? null : (i * 7919) % 40_000,
      age_s: 97 + i * 52_361, // about a year, never on a round hour
    });
  }
  await insertRows(pool, rows);
  await pool.query(sql.unsafe`UPDATE job_execution_summaries SET state = 'completed', duration_ms = 5 WHERE job_id % 13 = 0`);
  await pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE job_id % 17 = 0`);
}

/** The rows of `from`, inserted into `to` by a plain INSERT (ids and times kept; JSON null stays JSON). */
async function copyRows(from: DatabasePool, to: DatabasePool): Promise<void> {
  const rows = await from.oneFirst(sql.type(z.object({ rows: z.string() }))`
    SELECT coalesce(json_agg(json_build_array(id, job_id, attempt, worker, queue, state, results::text, duration_ms, inserted_at)
                             ORDER BY id), '[]')::text AS rows
    FROM job_execution_summaries
  `);
  await to.query(sql.unsafe`
    INSERT INTO job_execution_summaries (id, job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
    SELECT (e ->> 0)::bigint, (e ->> 1)::bigint, (e ->> 2)::int, e ->> 3, e ->> 4, e ->> 5, (e ->> 6)::jsonb, (e ->> 7)::int,
           (e ->> 8)::timestamptz
    FROM json_array_elements(${rows}::json) e
  `);
}

const rowsDigest = (pool: DatabasePool) =>
  pool.oneFirst(sql.type(z.object({ d: z.string() }))`
    SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) AS d FROM job_execution_summaries t
  `);

async function audit(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await auditRollups(client);
  } finally {
    await client.end();
  }
}

const QUESTIONS = [1, 24, 168, 720, 8760].flatMap((hours) => [
  `/metrics/system?hours=${hours}`,
  `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=${hours}`,
  `/metrics/worker/${encodeURIComponent(UNICODE_WORKER)}?hours=${hours}`,
  `/metrics/system/timeseries?hours=${hours}&bucket=${hours > 720 ? 'day' : 'hour'}`,
]).concat(['/metrics/workers', `/metrics/worker/${encodeURIComponent(IDLE_WORKER)}?hours=24`]);

/** Answers without the parts that name the moment or the request. */
async function answers(t: Test, db: TestDatabase): Promise<unknown[]> {
  const app = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });
  return Promise.all(
    QUESTIONS.map(async (url) => {
      const response = await app.inject(url);
      const body = response.json();
      delete body.window;
      delete body.meta?.as_of;
      // A problem names its request (the idle worker answers 404 where write() deleted its only row).
      delete body.request_id;
      return { url, status: response.statusCode, body };
    }),
  );
}

async function assertSameAsFresh(t: Test, upgraded: TestDatabase): Promise<void> {
  const fresh = await newDatabase(t);
  await migrate(fresh.url, { direction: 'up' });
  await copyRows(upgraded.pool, fresh.pool);
  t.equal(await schemaSnapshot(upgraded.pool), await schemaSnapshot(fresh.pool), 'the schema of a fresh install');
  t.equal(await rowsDigest(upgraded.pool), await rowsDigest(fresh.pool), 'every row kept');
  t.same(await audit(upgraded.url), [], 'rollups equal the raw rows');
  // An hour can turn between the two sets of questions (the time series' buckets move with it):
  // then ask both again; it cannot turn twice within a few seconds.
  let [mine, theirs] = [await answers(t, upgraded), await answers(t, fresh)];
  if (!isDeepStrictEqual(mine, theirs)) [mine, theirs] = [await answers(t, upgraded), await answers(t, fresh)];
  t.same(mine, theirs, 'the same answers as a fresh install');
}

for (const release of readdirSync(RELEASES_DIR).sort()) {
  t.test(`an install of release ${release} upgrades to a fresh install's schema and answers`, async (t) => {
    if (NEEDS_16.has(release) && serverMajor < 16) {
      t.pass(`release ${release} did not run on PostgreSQL ${serverMajor}: nothing to upgrade from`);
      return;
    }
    const db = await newDatabase(t);
    const applied = await migrate(db.url, { direction: 'up', dir: join(RELEASES_DIR, release, 'migrations') });
    t.ok(applied.length > 0, `release ${release} installed (${applied.length} migrations)`);
    await write(db.pool);
    const upgrade = await migrate(db.url, { direction: 'up' });
    t.same(upgrade, knownMigrations().filter((name) => !applied.includes(name)), 'only the newer migrations run');
    await assertSameAsFresh(t, db);
  });
}

t.test('an install at every earlier step of this release upgrades to a fresh install', async (t) => {
  const all = knownMigrations();
  // Each prefix is what an earlier release shipped (migrations are frozen); the first creates the table.
  for (let steps = 1; steps < all.length; steps++) {
    await t.test(`from ${all[steps - 1]}`, async (t) => {
      if (NEEDS_16.has(all[steps - 1]!) && serverMajor < 16) {
        t.pass(`an install that stopped at ${all[steps - 1]} did not work on PostgreSQL ${serverMajor}`);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'job-metrics-release-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      await cp(MIGRATIONS_DIR, dir, { recursive: true, filter: (source) => !all.slice(steps).some((name) => source.endsWith(`${name}.ts`)) });
      const db = await newDatabase(t);
      t.same(await migrate(db.url, { direction: 'up', dir }), all.slice(0, steps));
      await write(db.pool);
      t.same(await migrate(db.url, { direction: 'up' }), all.slice(steps), 'the rest run');
      await assertSameAsFresh(t, db);
    });
  }
});

t.test('the upgrade to ten-second rollups sums the last 26 hours: every recent minute is whole', async (t) => {
  // Rows folded before migration 1764070000000 (one dense minute two hours ago, a few an hour over
  // two days) and some pending at the upgrade: afterwards every minute of the last day that holds
  // rows has ten-second rows summing to it, so reads use them (window-pieces.ts), for every worker.
  const all = knownMigrations();
  const last = all.indexOf('1764070000000_ten-second-rollups');
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-release-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(MIGRATIONS_DIR, dir, { recursive: true, filter: (source) => !all.slice(last).some((name) => source.endsWith(`${name}.ts`)) });
  const db = await newDatabase(t);
  await migrate(db.url, { direction: 'up', dir });
  const minute = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
  const rows = (from: number, count: number, step: number, first: number): TestRow[] =>
    Array.from({ length: count }, (_, i): TestRow => {
      const results: TestRow['results'] = i % 4 === 0 ? { ok: true } : { cancel_reason: i % 5 === 0 ? null : 'movie not matched' };
      return { job_id: first + i, worker: [SHOWTIME, MAILER, UNICODE_WORKER][i % 3]!, state: i % 4 === 0 ? 'completed' : 'cancelled', results, duration_ms: 100 + i, age_s: 0, at: from + i * step };
    });
  await insertRows(db.pool, [...rows(minute, 1_500, 40, 1), ...rows(Date.now() - 48 * 3_600_000, 200, 860_000, 10_000)]);
  await db.pool.query(sql.unsafe`SELECT job_rollup_fold()`);
  await insertRows(db.pool, rows(minute + 5_000, 50, 100, 20_000));
  t.same(await migrate(db.url, { direction: 'up' }), all.slice(last), 'the upgrade runs');
  const minutes = await db.pool.any(sql.type(z.object({ worker: z.string().nullable(), whole: z.boolean() }))`
    SELECT m.worker, m.completed + m.retryable + m.discarded + m.cancelled + m.snoozed = coalesce((
      SELECT sum(s.completed + s.retryable + s.discarded + s.cancelled + s.snoozed) FROM job_rollups s
      WHERE s.grain = 'ten_seconds' AND s.worker IS NOT DISTINCT FROM m.worker AND s.bucket >= m.bucket AND s.bucket < m.bucket + interval '1 minute'), 0) AS whole
    FROM job_rollups m WHERE m.grain = 'minute' AND m.bucket >= now() - interval '24 hours'`);
  t.ok(minutes.length >= 4 * 2, `${minutes.length} recent minutes (every worker and each)`);
  t.same(minutes.filter((m) => !m.whole), [], 'each of them whole');
  t.same(await audit(db.url), [], 'the audit agrees');
});
