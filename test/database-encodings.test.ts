import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { connectClient } from '../src/db/tls.ts';
import { get } from './helpers/app.ts';
import { runScript } from './helpers/cli.ts';
import { dropDatabase, startTestDatabase } from './helpers/database.ts';
import { LONG_WORKER, nastyRows, UNICODE_WORKER, WORKERS } from './helpers/nasty-rows.ts';
import { insertRows, oracle } from './helpers/rows.ts';

// A cluster made under the C locale (a container with no locale set, say) gives its databases
// initdb's SQL_ASCII encoding, where char_length counts bytes: the worker check refused a name of
// 255 characters with one outside ASCII, and every insert carrying it (migration 1764130000000).

const db = await startTestDatabase(t);

/** A database of the test server in `encoding`, migrated; dropped with the test. */
async function databaseIn(tt: Pick<typeof t, 'teardown'>, encoding: string): Promise<string> {
  const name = `enc_${encoding.toLowerCase()}_${randomBytes(3).toString('hex')}`;
  const admin = await connectClient(db.url);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C'`);
  await admin.end();
  tt.teardown(() => dropDatabase(db.url, name));
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  await migrate(url.toString(), { direction: 'up' });
  return url.toString();
}

t.test('a SQL_ASCII database: Unicode workers and reasons are stored and answered as in UTF8', async (t) => {
  const url = await databaseIn(t, 'SQL_ASCII');
  const pool = await createDatabasePool(url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
  const metricsPool = await createDatabasePool(url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000, genericPlans: true });
  t.teardown(() => Promise.all([pool.end(), metricsPool.end()]));
  const rows = nastyRows();
  await insertRows(pool, rows);

  const app = await buildApp({ shedLoad: false, pool, metricsPool, config: loadConfig({}) });
  t.teardown(() => app.close());
  for (const worker of [undefined, ...WORKERS]) {
    for (const hours of [24, 8760]) {
      const path = worker === undefined ? `/metrics/system?hours=${hours}` : `/metrics/worker/${encodeURIComponent(worker)}?hours=${hours}`;
      const response = await get(t, app, path);
      const expected = oracle(rows, hours, worker);
      t.match(response.json(), { executions: expected.executions, states: expected.states, cancellations: expected.cancellations }, `${path.slice(0, 60)}: the oracle's counts and reasons`);
    }
  }
  const workers = (await get(t, app, '/metrics/workers')).json().workers.map((w: { worker: string }) => w.worker);
  t.ok(workers.includes(LONG_WORKER) && workers.includes(UNICODE_WORKER), 'the 255-character and the Unicode worker are listed');

  // The check counts characters, not bytes: 255 two-byte or four-byte characters pass, 256 do not.
  const writer = await connectClient(url);
  t.teardown(() => writer.end());
  const insert = (worker: string) =>
    writer.query(`INSERT INTO job_execution_summaries (job_id, worker, state) VALUES ((SELECT coalesce(max(job_id), 0) + 1 FROM job_execution_summaries), $1, 'completed')`, [worker]);
  for (const character of ['é', '界', '😀']) {
    await t.resolves(insert(character.repeat(255)), `255 × ${character} is a worker name`);
    // Refused by the check; its message quotes the row cut at a byte, which a SQL_ASCII server may
    // cut inside a character, and then the message itself fails to reach a UTF8 client (22021).
    const refused = await insert(character.repeat(256)).then(() => undefined, (error: { code?: string }) => error.code);
    t.ok(refused === '23514' || refused === '22021', `256 × ${character} is not (${refused})`);
  }
  await t.rejects(insert(''), { code: '23514' }, 'nor is the empty name');
});

t.test('a UTF8 database keeps the check it had: characters, 1 to 255', async (t) => {
  const client = await connectClient(db.url);
  t.teardown(() => client.end());
  const insert = (worker: string, job: number) => client.query(`INSERT INTO job_execution_summaries (job_id, worker, state) VALUES ($1, $2, 'completed')`, [job, worker]);
  await t.resolves(insert('😀'.repeat(255), 1));
  await t.rejects(insert('😀'.repeat(256), 2), { code: '23514' });
  await t.resolves(insert('W'.repeat(255), 3));
  await t.rejects(insert('W'.repeat(256), 4), { code: '23514' });
});

t.test('a LATIN1 database is refused before anything changes, by every entry point', async (t) => {
  // Before, `migrate up` applied 7 steps and stopped at a character of the 8th's own comments
  // ("has no equivalent in encoding LATIN1"); no worker named outside Latin-1 could be stored.
  const name = `enc_latin1_${randomBytes(3).toString('hex')}`;
  const admin = await connectClient(db.url);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
  await admin.end();
  t.teardown(() => dropDatabase(db.url, name));
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  const refusal = /the database's encoding is LATIN1: job-metrics needs UTF8, as worker names and reasons may be any Unicode text; create the database with ENCODING 'UTF8'/;
  const tables = async () => {
    const client = await connectClient(url.toString());
    try {
      return (await client.query<{ name: string }>(`SELECT relname AS name FROM pg_class WHERE relnamespace = current_schema()::regnamespace`)).rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  };

  await t.rejects(migrate(url.toString(), { direction: 'up' }), refusal, 'migrate up says why');
  t.same(await tables(), [], 'and created nothing');
  const cli = await runScript('migrate', ['up'], { DATABASE_URL: url.toString() });
  t.equal(cli.code, 1, 'npm run migrate -- up fails');
  t.match(cli.stderr.trim(), new RegExp(`^error: ${refusal.source}[^\\n]*$`), 'with the same one line, no stack trace');
  const start = spawnSync(process.execPath, [new URL('../src/server.ts', import.meta.url).pathname], {
    env: { ...process.env, DATABASE_URL: url.toString(), PORT: '0', LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 120_000, // only ends a hang
  });
  t.equal(start.status, 1, 'npm start stops');
  t.match(start.stderr, new RegExp(`^job-metrics failed to start: ${refusal.source}`, 'm'), 'saying why');
  const doctor = await runScript('doctor', [], { DATABASE_URL: url.toString() });
  t.equal(doctor.code, 1);
  t.match(doctor.stdout, new RegExp(`^FAIL {2}database reachable: ${refusal.source}`, 'm'), 'the doctor names it first');
  t.match(doctor.stdout, /^ {6}fix: a database created with ENCODING 'UTF8'$/m);
  t.same(await tables(), [], 'nothing was created along the way');
});
