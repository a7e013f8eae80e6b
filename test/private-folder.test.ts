import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { resolveDataDir, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { canExecute, installedBinaries, postgresMajor, reachableBinaries } from '../src/db/postgres-binaries.ts';

/**
 * As root, the embedded PostgreSQL runs as the `postgres` user, who cannot search a folder such as
 * /root (mode 700): a clone there must still start, from a reachable copy of the binaries and a
 * data directory of its own. Only root can show it.
 */
if (process.getuid?.() !== 0) {
  t.plan(0, 'runs as root only (the embedded server then runs as the postgres user)');
} else {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout);
  // A folder like /root: only its owner, root, may enter it.
  const home = await mkdtemp(join(tmpdir(), 'job-metrics-private-'));
  await chmod(home, 0o700);
  t.teardown(() => rm(home, { recursive: true, force: true }));

  t.test('binaries under a private folder run from a copy the postgres user can reach', async (t) => {
    const installed = await installedBinaries(postgresMajor());
    const hidden = { ...installed, root: join(home, 'native'), bin: (b: 'initdb' | 'postgres') => join(home, 'native', 'bin', b) };
    await cp(installed.root, hidden.root, { recursive: true, verbatimSymlinks: true });
    // A temporary folder of the test's own, so the copy is made here and now.
    const scratch = await mkdtemp(join(tmpdir(), 'job-metrics-tmp-'));
    await chmod(scratch, 0o755);
    t.teardown(() => rm(scratch, { recursive: true, force: true }));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    t.teardown(() => (previous === undefined ? delete process.env.TMPDIR : (process.env.TMPDIR = previous)));

    const user = { uid: id('-u'), gid: id('-g') };
    t.notOk(canExecute(hidden.bin('postgres'), user), 'the postgres user cannot run the binaries in place');
    const reachable = await reachableBinaries(hidden, user);
    t.match(reachable.root, scratch, 'a copy in the temporary folder');
    t.ok(canExecute(reachable.bin('postgres'), user), 'which the postgres user can run');
    t.equal((await reachableBinaries(hidden, user)).root, reachable.root, 'made once, then reused');
  });

  t.test('a data directory under a private folder moves to one the server can reach, and starts', async (t) => {
    const wanted = join(home, 'clone', '.data');
    await mkdir(join(home, 'clone'));
    const { dir, relocated } = resolveDataDir(wanted);
    t.match(dir, /^\/var\/lib\/job-metrics\/data-[0-9a-f]{12}$/);
    t.match(relocated, `cannot reach ${wanted}`);
    t.equal(resolveDataDir(wanted).dir, dir, 'every command finds the same folder');
    t.teardown(() => rm(dir, { recursive: true, force: true }));

    const server = await startEmbeddedPostgres({ dir: wanted, ephemeral: true });
    t.teardown(() => server.stop());
    t.equal(server.dir, dir);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    t.equal((await client.query('SELECT current_setting($1) AS d', ['data_directory'])).rows[0].d, dir);
    await client.end();
  });

  t.test('a reachable data directory stays where it was asked for', async (t) => {
    const open = await mkdtemp(join(tmpdir(), 'job-metrics-open-'));
    await chmod(open, 0o755);
    t.teardown(() => rm(open, { recursive: true, force: true }));
    t.same(resolveDataDir(join(open, '.data')), { dir: join(open, '.data') });
  });
}
