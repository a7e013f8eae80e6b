import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { metricsStatements } from '../src/metrics/warm-up.ts';
import { startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { pgbouncerMissing, startPgBouncer } from './helpers/pgbouncer.ts';
import { insertRows } from './helpers/rows.ts';

// Teams put PgBouncer in front of PostgreSQL. With its defaults it refuses the startup parameters
// the service's sessions start with (options, statement_timeout), and the service failed to start;
// told to ignore them, it drops them, and the service ran with JIT on (0.5 s a read on servers with
// LLVM) and no statement timeout.
const skip = pgbouncerMissing();
const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());

const Settings = z.object({ jit: z.string(), statement_timeout: z.string(), plan_cache_mode: z.string(), hash_mem_multiplier: z.string(), idle: z.string() });
const settingsOf = (pool: Awaited<ReturnType<typeof createDatabasePool>>) =>
  pool.one(sql.type(Settings)`
    SELECT current_setting('jit') AS jit, current_setting('statement_timeout') AS statement_timeout,
      current_setting('plan_cache_mode') AS plan_cache_mode, current_setting('hash_mem_multiplier') AS hash_mem_multiplier,
      current_setting('idle_in_transaction_session_timeout') AS idle`);

async function openPools(t: Test, url: string) {
  const lost: string[] = [];
  const open = (genericPlans: boolean) =>
    createDatabasePool(url, { statementTimeoutMs: 4_321, connectionTimeoutMs: 5_000, maxPoolSize: 2, genericPlans, onStartupParametersLost: (why) => lost.push(why) });
  const [pool, metricsPool] = [await open(false), await open(true)];
  t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));
  return { pool, metricsPool, lost };
}

async function sessionsHoldTheirSettings(t: Test, url: string) {
  const { pool, metricsPool, lost } = await openPools(t, url);
  t.same(await settingsOf(pool), { jit: 'off', statement_timeout: '4321ms', plan_cache_mode: 'auto', hash_mem_multiplier: '2', idle: '1min' });
  t.same(await settingsOf(metricsPool), { jit: 'off', statement_timeout: '4321ms', plan_cache_mode: 'force_generic_plan', hash_mem_multiplier: '8', idle: '1min' });
  return lost;
}

t.test('straight to PostgreSQL: the settings arrive as startup parameters', async (t) => {
  t.same(await sessionsHoldTheirSettings(t, db.url), [], 'no fallback');
});

t.test('PgBouncer with its defaults refuses the startup parameters: each connection sets them', { skip }, async (t) => {
  const url = await startPgBouncer(t, db.url);
  const lost = await sessionsHoldTheirSettings(t, url);
  t.equal(lost.length, 2, 'each pool says why');
  t.match(lost[0], /refused the startup parameter/);
});

t.test('PgBouncer told to ignore them drops them: each connection sets them', { skip }, async (t) => {
  const url = await startPgBouncer(t, db.url, { ignoreStartupParameters: ['options', 'statement_timeout', 'idle_in_transaction_session_timeout'] });
  const lost = await sessionsHoldTheirSettings(t, url);
  t.match(lost[0], /dropped/);
});

for (const mode of ['session', 'transaction'] as const) {
  // In transaction mode PgBouncer 1.18 runs a client's statements on any free server connection, so
  // named prepared statements were missing or taken there: every metrics read answered 500.
  t.test(`through PgBouncer in ${mode} mode the service answers as it does straight to PostgreSQL`, { skip }, async (t) => {
    const url = await startPgBouncer(t, db.url, { mode });
    let unnamed = 0;
    const open = (genericPlans: boolean) =>
      createDatabasePool(url, {
        statementTimeoutMs: 30_000,
        connectionTimeoutMs: 5_000,
        maxPoolSize: 4,
        genericPlans,
        warmConnections: genericPlans ? 4 : 0,
        warmUp: genericPlans ? metricsStatements() : [],
        onStatementNamesLost: () => (unnamed += 1),
      });
    const [pool, metricsPool] = [await open(false), await open(true)];
    t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));
    // No fold in the background: one between the two answers would change how they were computed (meta).
    const config = loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' });
    const through = await startTestApp(t, { ...db, url, pool }, { metricsPool, config });
    const direct = await startTestApp(t, db, { config });
    const paths = [1, 24, 168, 8760].flatMap((hours) => [
      `/metrics/system?hours=${hours}`,
      `/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=${hours}`,
      `/metrics/worker/${encodeURIComponent(UNICODE_WORKER)}?hours=${hours}&compare=previous`,
      `/metrics/system/timeseries?hours=${hours}`,
    ]);
    const answer = (body: string) => JSON.parse(body, (key, value) => (['from', 'to', 'as_of', 'bucket'].includes(key) ? undefined : value));
    // Twice, all at once: the pool's connections meet whichever server connections are free.
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(paths.map(async (path) => [path, await through.inject(path), await direct.inject(path)] as const));
      for (const [path, a, b] of answers) {
        t.equal(a.statusCode, 200, `${path} (round ${round + 1})`);
        t.same(answer(a.body), answer(b.body), `${path}: the same answer`);
      }
    }
    t.equal(unnamed, mode === 'transaction' ? 1 : 0, mode === 'transaction' ? 'the metrics pool dropped its statement names once' : 'names kept');
  });
}
