import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFile, cp, rm, stat, writeFile } from 'node:fs/promises';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { StandbyError } from '../src/db/standby.ts';
import { foldPending, startFoldLoop } from '../src/metrics/rollup/fold-loop.ts';
import { startPruner } from '../src/retention/prune.ts';
import { request, startTestApp } from './helpers/app.ts';
import { startTestDatabase, STOPS_SERVER } from './helpers/database.ts';
import { nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

// Teams read from a streaming replica (docs/SCALING.md). There a write answered 500, and the fold
// loop sent statements the server refused (and logged) every second.
const db = await startTestDatabase(t);
if (!db.canStopServer) {
  t.plan(0, `${STOPS_SERVER} (the standby is made from a copy of the stopped primary)`);
} else {
  await insertRows(db.pool, nastyRows());
  await foldPending(db.pool);

  // A standby from a copy of the cleanly stopped primary, streaming from it.
  await db.stopServer();
  const standbyDir = `${db.dataDir}-standby`;
  await cp(db.dataDir, standbyDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  t.teardown(() => rm(standbyDir, { recursive: true, force: true }));
  await db.startServer();
  const primary = new URL(db.url);
  await writeFile(`${standbyDir}/standby.signal`, '');
  await appendFile(
    `${standbyDir}/postgresql.auto.conf`,
    `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${primary.username} password=${decodeURIComponent(primary.password)}'\n`,
  );
  await chownLike(db.dataDir, standbyDir);
  const server = await startEmbeddedPostgres({ dir: standbyDir, ephemeral: true });
  t.teardown(() => server.stop());
  const standbyPool = await createDatabasePool(server.url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
  t.teardown(() => standbyPool.end());
  const standby = { ...db, url: server.url, pool: standbyPool };

  const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
  // No fold in the primary's background: one between two answers would change how they were computed (meta).
  const onPrimary = await startTestApp(t, db, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });
  const onStandby = await startTestApp(t, standby, { config: loadConfig({ INGEST_TOKEN, ROLLUP_FOLD_INTERVAL_MS: '50' }) });

  const lsn = z.object({ lsn: z.string() });
  /** Until the standby has replayed everything the primary has written so far (inserted: its commits are asynchronous). */
  async function caughtUp() {
    const target = await db.pool.oneFirst(sql.type(lsn)`SELECT pg_current_wal_insert_lsn()::text AS lsn`);
    for (let i = 0; i < 200; i++) {
      const behind = await standbyPool.oneFirst(sql.type(z.object({ behind: z.boolean() }))`
        SELECT pg_last_wal_replay_lsn() < ${target}::pg_lsn AS behind`);
      if (!behind) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the standby did not catch up within 10 s');
  }

  const paths = [1, 24, 8760].flatMap((hours) => [
    `/metrics/system?hours=${hours}`,
    `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=${hours}`,
    `/metrics/worker/${encodeURIComponent(UNICODE_WORKER)}?hours=${hours}`,
    `/metrics/system/timeseries?hours=${hours}`,
  ]);
  const answer = (body: string) => JSON.parse(body, (key, value) => (['from', 'to', 'as_of', 'start'].includes(key) ? undefined : value));
  async function sameAnswers(t: Test) {
    await caughtUp();
    for (const path of paths) {
      const [a, b] = [await onStandby.inject(path), await onPrimary.inject(path)];
      t.equal(a.statusCode, 200, path);
      t.same(answer(a.body), answer(b.body), `${path}: the standby answers as the primary`);
    }
  }

  t.test('a standby answers every read as the primary does, folded rows and pending ones', async (t) => {
    await sameAnswers(t);
    // Rows the primary has not folded yet reach the standby pending, and are read there as such.
    await insertRows(db.pool, nastyRows());
    await sameAnswers(t);
  });

  t.test('a write sent to the standby is a 503 that says where writes go; nothing is written', async (t) => {
    const before = await standbyPool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries`);
    const response = await request(t, onStandby, {
      method: 'POST',
      url: '/job-executions',
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      payload: { executions: [{ job_id: 1, worker: 'Standby.Worker', state: 'completed', inserted_at: new Date().toISOString() }] },
    });
    t.equal(response.statusCode, 503);
    t.match(response.json(), { type: /database-unavailable/, detail: /read-only.*primary/ });
    t.notMatch(response.body, /read-only transaction|INSERT/, 'no driver message or SQL');
    t.ok(response.headers['retry-after'], 'a failover may promote it: retry later');
    await caughtUp();
    t.equal(await standbyPool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries`), before);
  });

  t.test('the fold and the pruner leave a standby to its primary, and say so', async (t) => {
    const failures: unknown[] = [];
    const events = { failed: (error: unknown) => failures.push(error), recovered: () => failures.push('recovered') };
    const fold = startFoldLoop(standbyPool, 20, events);
    const prune = startPruner(standbyPool, 30, 20, events);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.all([fold.stop(), prune.stop()]);
    t.equal(failures.length, 2, 'one report each for the whole streak');
    t.ok(failures.every((error) => error instanceof StandbyError), 'both say the database is a standby');
  });
}

/** The standby's files belong to whoever owns the primary's (the postgres user, under root). */
async function chownLike(model: string, dir: string) {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await stat(model);
  const chowned = spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
  if (chowned.status !== 0) throw new Error(`chown ${dir}: ${chowned.stderr}`);
}
