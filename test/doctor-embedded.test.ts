import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { failures, runScript } from './helpers/cli.ts';

// Without DATABASE_URL the doctor checks npm start's embedded database in DATA_DIR.
const dataDir = await mkdtemp(join(tmpdir(), 'job-metrics-doctor-'));
t.teardown(() => rm(dataDir, { recursive: true, force: true }));
const env = { DATABASE_URL: '', DATA_DIR: dataDir };

t.test('no database in DATA_DIR is one clear error', async (t) => {
  const result = await runScript('doctor', [], env);
  t.equal(result.code, 1);
  t.match(result.stderr, `no DATABASE_URL and no embedded database in ${dataDir}`);
});

t.test('a stopped embedded database is started for the check and stopped again', async (t) => {
  const server = await startEmbeddedPostgres({ dir: dataDir, ephemeral: true });
  t.equal((await runScript('migrate', ['up'], { DATABASE_URL: server.url })).code, 0);
  await server.stop();
  const result = await runScript('doctor', [], env);
  t.equal(result.code, 0, 'exits 0', { output: result.stdout + result.stderr });
  t.match(result.stdout, /started for this check, stopped after/);
  t.notOk(existsSync(join(dataDir, 'postmaster.pid')), 'no server left running');
});

t.test('a running one (npm start) is found by its postmaster.pid', async (t) => {
  const server = await startEmbeddedPostgres({ dir: dataDir, ephemeral: true });
  t.teardown(() => server.stop());
  const result = await runScript('doctor', [], env);
  t.equal(result.code, 0, 'exits 0', { output: result.stdout + result.stderr });
  t.same(failures(result), []);
  t.match(result.stdout, `(running, port ${server.port})`);
});
