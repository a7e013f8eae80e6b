import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { installedBinaries, REFUSED_MAJOR } from '../src/db/postgres-binaries.ts';
import { checkServerVersion, UnsupportedServerError } from '../src/db/server-version.ts';
import { runScript } from './helpers/cli.ts';

const REFUSAL = /PostgreSQL 14\.\d+ is not supported: job-metrics needs PostgreSQL 15 or later \(15 to 18 are tested\)/;

t.test('which versions are refused, noted or taken as they are', async (t) => {
  t.throws(() => checkServerVersion({ num: 140023, text: '14.23' }), new UnsupportedServerError(
    'PostgreSQL 14.23 is not supported: job-metrics needs PostgreSQL 15 or later (15 to 18 are tested); ' +
      'upgrade the server, or point DATABASE_URL at a newer one',
    'run job-metrics on PostgreSQL 15 or later',
  ));
  t.throws(() => checkServerVersion({ num: 90624, text: '9.6.24' }), /PostgreSQL 9\.6\.24 is not supported/);
  t.throws(() => checkServerVersion({ num: Number('x'), text: 'odd' }), /PostgreSQL odd is not supported/, 'an unreadable version too');
  for (const [num, text] of [[150000, '15.0'], [160014, '16.14'], [170010, '17.10 (Debian 17.10-1.pgdg120+1)'], [180004, '18.4']] as const) {
    t.equal(checkServerVersion({ num, text }), undefined, `${text}: tested, nothing to say`);
  }
  t.equal(checkServerVersion({ num: 190000, text: '19beta1' }), 'PostgreSQL 19beta1 is newer than the versions tested (15 to 18 are tested)');
});

t.test(`PostgreSQL ${REFUSED_MAJOR}: refused before anything changes, by every entry point`, async (t) => {
  // Its binaries are installed on Linux x64 only, as 15–17 are.
  if (!(await installedBinaries(REFUSED_MAJOR).then(() => true, () => false))) return t.comment(`skipped: no PostgreSQL ${REFUSED_MAJOR} binaries here`);
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-pg14-'));
  const server = await startEmbeddedPostgres({ dir: join(dir, 'data'), major: REFUSED_MAJOR, ephemeral: true });
  t.teardown(async () => {
    await server.stop();
    // As root the data went elsewhere (the postgres user cannot enter a mkdtemp folder): both go.
    await rm(server.dir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  const tables = async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query<{ name: string }>(`SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`)).rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  };

  // Before the check, `up` applied 7 migrations here and stopped at "syntax error at or near NULLS".
  await t.rejects(migrate(server.url, { direction: 'up' }), REFUSAL, 'migrate up says why');
  t.same(await tables(), [], 'and created nothing, not even its own record');

  const cli = await runScript('migrate', ['up'], { DATABASE_URL: server.url });
  t.equal(cli.code, 1, 'npm run migrate -- up fails');
  t.match(cli.stderr.trim(), new RegExp(`^error: ${REFUSAL.source}[^\\n]*$`), 'with the same one line');
  t.notMatch(cli.stderr, /\n\s+at /, 'and no stack trace');

  const start = spawnSync(process.execPath, [new URL('../src/server.ts', import.meta.url).pathname], {
    env: { ...process.env, DATABASE_URL: server.url, PORT: '0', LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 120_000, // only ends a hang
  });
  t.equal(start.status, 1, 'npm start stops instead of answering 503 for ever');
  t.match(start.stderr, /^job-metrics failed to start: PostgreSQL 14\.\d+ is not supported: /m, 'saying why');
  t.notMatch(start.stdout, /listening/);

  const doctor = await runScript('doctor', [], { DATABASE_URL: server.url });
  t.equal(doctor.code, 1);
  t.match(doctor.stdout, /^FAIL {2}database reachable: PostgreSQL 14\.\d+ is not supported: /m, 'the doctor names it first');
  t.same(await tables(), [], 'nothing was created along the way');
});
