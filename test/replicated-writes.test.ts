import t from 'tap';
import pg from 'pg';
import { connectClient } from '../src/db/tls.ts';
import { auditRollups, verifyWindow } from '../src/metrics/rollup/verify.ts';
import { triggersCheck } from '../src/doctor/rollup-checks.ts';
import type { CheckResult } from '../src/doctor/report.ts';
import { startTestDatabase, STOPS_SERVER } from './helpers/database.ts';

// A logical replication subscription's apply worker writes with session_replication_role =
// replica, and fires row triggers only; bulk loaders set the same role to skip triggers. Before
// migration 1764110000000 the rollups missed every such write (the statement triggers fire on
// origin only), and the answers read from them disagreed with the raw rows.

const db = await startTestDatabase(t);
const WORKERS = [undefined, 'Replicated.Worker', 'Other.Worker'];
const WINDOWS = [1, 24, 720, 8760];

/** Every window and the rollups against the raw rows; the differences, empty when they agree. */
async function disagreements(auditor: pg.Client): Promise<string[]> {
  const found = await auditRollups(auditor, 20);
  for (const worker of WORKERS) {
    for (const hours of WINDOWS) found.push(...(await verifyWindow(db.pool, hours, worker)).map((d) => `${worker ?? 'system'} ${hours} h: ${d}`));
  }
  return found;
}

/** Rows of every reason shape, spread over a year, `n` of them from job id `first`. */
const ROWS = (first: number, n: number) => `
  SELECT ${first} + i, CASE WHEN i % 3 = 0 THEN 'Other.Worker' ELSE 'Replicated.Worker' END,
    (ARRAY['completed', 'cancelled', 'retryable', 'cancelled', 'discarded', 'snoozed', 'cancelled'])[1 + i % 7],
    (ARRAY['{}', '{"cancel_reason": null}', 'null', NULL, '{"cancel_reason": "unknown"}', '{"cancel_reason": ""}',
           '{"cancel_reason": 7}', '{"cancel_reason": "it''s \\"q\\" ü"}', '{"cancel_reason": "movie not matched"}'])[1 + i % 9]::jsonb,
    CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 7919) % 90000 END,
    now() - make_interval(secs => CASE WHEN i % 4 = 0 THEN (i * 10513) % (365 * 86400) ELSE (i * 7) % 3600 + 120 END)
  FROM generate_series(0, ${n - 1}) AS i`;
const COLUMNS = '(job_id, worker, state, results, duration_ms, inserted_at)';

/** Only a superuser (or a role granted SET on it) may change session_replication_role. */
const mayReplicate = await (async () => {
  const probe = await connectClient(db.url);
  try {
    await probe.query('SET session_replication_role = replica');
    return true;
  } catch {
    return false;
  } finally {
    await probe.end();
  }
})();
const NOT_PERMITTED = 'the test role may not set session_replication_role';

t.test('writes of a session with session_replication_role = replica are counted once, as on origin', { skip: mayReplicate ? false : NOT_PERMITTED }, async (t) => {
  const replica = await connectClient(db.url);
  const origin = await connectClient(db.url);
  t.teardown(() => Promise.all([replica.end(), origin.end()]));
  await replica.query('SET session_replication_role = replica');

  await origin.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(1, 500)}`);
  for (let i = 0; i < 20; i++) await replica.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(10_000 + i, 1)}`);
  // A statement over the bulk line (10,000 rows), which on origin folds its own rows.
  await replica.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(20_000, 10_001)}`);
  t.same(await disagreements(origin), [], 'after single-row and bulk inserts in replica mode: every window and rollup equals the raw rows');

  await replica.query(`UPDATE job_execution_summaries SET state = 'cancelled', results = '{"cancel_reason": "moved"}' WHERE job_id % 97 = 0`);
  await replica.query(`UPDATE job_execution_summaries SET inserted_at = inserted_at - interval '3 days', duration_ms = 90001 WHERE job_id % 89 = 0`);
  await replica.query(`DELETE FROM job_execution_summaries WHERE job_id % 41 = 0`);
  // The largest duration of many buckets goes: each bucket's max must be worked out again.
  await replica.query(`DELETE FROM job_execution_summaries WHERE duration_ms > 88000`);
  t.same(await disagreements(origin), [], 'after UPDATEs and DELETEs in replica mode: equal, maxima included');

  // A purge and a re-labelling in one transaction, as a subscription applies a publisher's: the
  // row triggers record them, and one pass at commit applies them all.
  await replica.query('BEGIN');
  await replica.query(`DELETE FROM job_execution_summaries WHERE job_id % 7 = 3`);
  await replica.query(`UPDATE job_execution_summaries SET results = '{"cancel_reason": "relabelled"}', duration_ms = duration_ms + 1 WHERE state = 'cancelled' AND job_id % 7 = 4`);
  await replica.query(`UPDATE job_execution_summaries SET queue = 'untouched fields only' WHERE job_id % 7 = 5`);
  await replica.query('COMMIT');
  t.same(await disagreements(origin), [], 'after a transaction of thousands of replica-mode changes: equal');
  const { rows: recorded } = await origin.query<{ n: string }>('SELECT count(*) AS n FROM job_rollup_replica_changes');
  t.equal(Number(recorded[0]!.n), 0, 'the records of applied changes are gone at commit');

  await origin.query(`UPDATE job_execution_summaries SET state = 'completed' WHERE job_id % 7 = 1`);
  await origin.query(`DELETE FROM job_execution_summaries WHERE job_id % 9 = 2`);
  t.same(await disagreements(origin), [], 'origin writes after them: still equal (no write counted twice)');

  await replica.query('TRUNCATE job_execution_summaries');
  const { rows } = await origin.query<{ n: string }>(
    'SELECT (SELECT count(*) FROM job_rollups) + (SELECT count(*) FROM job_rollup_reasons) + (SELECT count(*) FROM job_rollup_pending) AS n',
  );
  t.equal(Number(rows[0]!.n), 0, 'a TRUNCATE in replica mode empties the rollups too');
});

t.test('a logical replication subscription: copied and streamed rows are counted', { skip: db.canStopServer ? false : STOPS_SERVER }, async (t) => {
  const admin = await connectClient(db.url);
  await admin.query(`ALTER SYSTEM SET wal_level = 'logical'`);
  await admin.end();
  await db.stopServer();
  await db.startServer();

  // The job system's database on the same server: its own table, published.
  const source = new URL(db.url);
  source.pathname = '/jobs_source';
  const setup = await connectClient(db.url);
  t.teardown(() => setup.end());
  await setup.query('CREATE DATABASE jobs_source');
  const writer = await connectClient(source.toString());
  t.teardown(() => writer.end());
  await writer.query(`CREATE TABLE job_execution_summaries (
      id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, job_id bigint NOT NULL, attempt integer NOT NULL DEFAULT 1,
      worker text NOT NULL, queue text, state text NOT NULL, results jsonb, duration_ms integer,
      inserted_at timestamptz NOT NULL DEFAULT now(), UNIQUE (job_id, attempt))`);
  await writer.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(100_000, 3_000)}`);
  await writer.query('CREATE PUBLICATION jobs FOR TABLE job_execution_summaries');
  // A subscription to a database of the same server needs its slot made beforehand.
  await writer.query(`SELECT pg_create_logical_replication_slot('jobs_metrics', 'pgoutput')`);
  const subscriber = await connectClient(db.url);
  t.teardown(async () => {
    await subscriber.query('ALTER SUBSCRIPTION jobs DISABLE').catch(() => undefined);
    await subscriber.query('ALTER SUBSCRIPTION jobs SET (slot_name = NONE)').catch(() => undefined);
    await subscriber.query('DROP SUBSCRIPTION IF EXISTS jobs').catch(() => undefined);
    await subscriber.end();
  });
  await subscriber.query('TRUNCATE job_execution_summaries');
  await subscriber.query(`CREATE SUBSCRIPTION jobs CONNECTION '${source.toString()}' PUBLICATION jobs WITH (create_slot = false, slot_name = 'jobs_metrics')`);

  /** Waits until the subscriber holds exactly the source's rows. */
  const caughtUp = async () => {
    const fingerprint = `SELECT count(*)::text || '/' || coalesce(sum(job_id * 7 + coalesce(duration_ms, 3) + length(state)), 0)::text AS f FROM job_execution_summaries`;
    const want = (await writer.query<{ f: string }>(fingerprint)).rows[0]!.f;
    for (let i = 0; i < 600; i++) {
      if ((await subscriber.query<{ f: string }>(fingerprint)).rows[0]!.f === want) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  };
  t.ok(await caughtUp(), 'the initial copy arrived');
  t.same(await disagreements(subscriber), [], 'rows of the initial copy: every window and rollup equals the raw rows');

  for (let i = 0; i < 30; i++) await writer.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(200_000 + i, 1)}`);
  await writer.query(`INSERT INTO job_execution_summaries ${COLUMNS} ${ROWS(300_000, 10_001)}`);
  await writer.query(`UPDATE job_execution_summaries SET state = 'cancelled', results = NULL WHERE job_id % 97 = 0`);
  await writer.query(`DELETE FROM job_execution_summaries WHERE job_id % 41 = 0 OR duration_ms > 88000`);
  // A purge of thousands of rows in one transaction, applied by the subscription as one.
  await writer.query(`DELETE FROM job_execution_summaries WHERE job_id % 7 = 3`);
  t.ok(await caughtUp(), 'the streamed inserts, updates and deletes arrived');
  t.same(await disagreements(subscriber), [], 'streamed rows, one row trigger each: equal');
  t.match(await triggersCheck(db.pool).run(), {
    ok: true,
    detail: /rows arrive by logical replication \(subscription jobs\)/,
    notes: [/a replicated TRUNCATE is not/],
  }, 'doctor names the subscription and what it cannot count');
});

t.test('doctor fails when a rollup trigger is disabled or fires in another mode, naming the fix', async (t) => {
  const owner = await connectClient(db.url);
  t.teardown(() => owner.end());
  t.match(await triggersCheck(db.pool).run(), { ok: true, detail: /statement triggers on origin, row triggers on replica, TRUNCATE always/ });
  await owner.query('ALTER TABLE job_execution_summaries DISABLE TRIGGER job_rollup_insert, ENABLE ALWAYS TRIGGER job_rollup_delete_row');
  const result = (await triggersCheck(db.pool).run()) as CheckResult;
  t.equal(result.ok, false);
  t.match(result.notes, [
    /^job_rollup_insert: fires never \(disabled\), expected on origin \(fix: psql `ALTER TABLE job_execution_summaries ENABLE TRIGGER job_rollup_insert;`\)$/,
    /^job_rollup_delete_row: fires always, expected on replica \(fix: psql `ALTER TABLE job_execution_summaries ENABLE REPLICA TRIGGER job_rollup_delete_row;`\)$/,
    /npm run rollup -- rebuild/,
  ]);
  await owner.query('ALTER TABLE job_execution_summaries ENABLE TRIGGER job_rollup_insert, ENABLE REPLICA TRIGGER job_rollup_delete_row');
  t.match(await triggersCheck(db.pool).run(), { ok: true }, 'the fix it names restores it');
});
