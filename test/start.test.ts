import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const SERVER = new URL('../src/server.ts', import.meta.url).pathname;
const dataDir = await mkdtemp(join(tmpdir(), 'job-metrics-start-'));
t.teardown(() => rm(dataDir, { recursive: true, force: true }));

/** Starts `npm start`'s entry point as a new user would, with no DATABASE_URL. */
async function startService(extra: Record<string, string> = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
  const child = spawn(process.execPath, [SERVER], {
    env: { ...inherited, DATABASE_URL: '', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const base = await new Promise<string>((resolve, reject) => {
    // Only ends a hang: initdb, migrations and demo data took up to ~40 s at load average 20.
    const timer = setTimeout(() => reject(new Error(`no start within 300 s:\n${output}`)), 300_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  const stop = () =>
    new Promise<string>((resolve) => {
      child.on('exit', (code, signal) => resolve(code === 0 ? 'exit 0' : `exit ${code} ${signal}:\n${output}`));
      child.kill('SIGTERM');
    });
  return { base, stop, output: () => output };
}

const getJson = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;

t.test('npm start on an empty data directory serves the demo data', async (t) => {
  const service = await startService();
  const metrics = await getJson(`${service.base}/metrics/system?hours=24`);
  t.match(metrics, {
    executions: 2991,
    states: { completed: 300, retryable: 100, discarded: 100, cancelled: 2419, snoozed: 72 },
    cancellations: { total: 2419, unknown: 479 },
  });
  t.same(metrics.cancellations.by_reason[0], { reason: 'movie not matched', count: 1935 });
  t.equal((await fetch(`${service.base}/health/ready`)).status, 200);
  t.match(service.output(), /API docs:\s+http:\/\/\S+\/docs/);
  t.notMatch(service.output(), /PGHOST/, 'no note about libpq variables that are not set');
  const second = spawnSync(process.execPath, [SERVER], {
    env: { ...process.env, DATABASE_URL: '', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 120_000, // only ends a hang: starting Node alone can take seconds on a loaded machine
  });
  t.equal(second.status, 1, 'a second npm start on the same data directory stops at once');
  t.match(second.stderr, /already running .*DATA_DIR/, 'saying why, and what to do');
  t.equal((await fetch(`${service.base}/health/ready`)).status, 200, 'the first one is unharmed');
  t.equal(await service.stop(), 'exit 0', 'SIGTERM stops it cleanly');
});

t.test('a restart refreshes demo-only data, and never touches anyone else’s rows', async (t) => {
  // psql's variables do not choose the database here: the start says so rather than ignore them silently.
  const again = await startService({ PGHOST: 'db.internal', PGDATABASE: 'jobs' });
  t.match(again.output(), /Note: PGHOST, PGDATABASE are set but not read: to use that server, set DATABASE_URL/);
  t.match(await getJson(`${again.base}/metrics/system?hours=24`), { executions: 2991 }, 'refreshed to end now');
  const workers = await getJson(`${again.base}/metrics/workers`);
  t.ok(workers.workers.length >= 4);
  t.equal(await again.stop(), 'exit 0');

  // A row of someone else's: the next start must keep everything as it is.
  const third = await startService();
  const before = await getJson(`${third.base}/metrics/system?hours=8760`);
  const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'job_metrics' });
  await client.connect();
  // The metrics pool's warm connections (DATABASE_POOL_WARM, default 10), open and planned at start:
  // each ran the time series last (metrics/warm-up.ts), and the request above has used one or two since.
  const { rows: warm } = await client.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = 'job_metrics' AND state = 'idle' AND regexp_replace(query, '\\s+', ' ', 'g') LIKE '%WITH bounds AS MATERIALIZED (SELECT now() AS t_to,%'`,
  );
  t.ok(warm[0].n >= 8, `the metrics pool's connections were warmed at start (${warm[0].n} idle after the time series)`);
  await client.query(
    `INSERT INTO job_execution_summaries (job_id, worker, state, inserted_at) VALUES (1, 'Mine', 'completed', now() - interval '30 hours')`,
  );
  await client.end();
  t.equal(await third.stop(), 'exit 0');

  const fourth = await startService();
  const after = await getJson(`${fourth.base}/metrics/system?hours=8760`);
  t.equal(after.executions, before.executions + 1, 'demo rows kept as they were, plus the foreign row');
  t.equal(await fourth.stop(), 'exit 0');
});
