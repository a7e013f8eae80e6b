import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { startTestDatabase, STOPS_SERVER } from './helpers/database.ts';
import { isBlocking, waitUntilBlockedBy } from './helpers/locks.ts';
import { MAILER, nastyRows } from './helpers/nasty-rows.ts';
import { insertRows, oracle } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const rows = nastyRows();
await insertRows(db.pool, rows);

/**
 * An app with its own small pool and tight limits, so every failure shows within a second or two.
 * Load shedding is off, as in startTestApp: it would measure the busy test runner.
 */
async function appWith(env: Record<string, string>, maxPoolSize = 2) {
  // The pool wait (the default 2 s) is also the time allowed to open a connection, and part of
  // the request deadline: both need room on a loaded machine.
  const config = loadConfig({ STATEMENT_TIMEOUT_MS: '800', POOL_TIMEOUT_MS: '2000', ...env });
  const pool = await createDatabasePool(db.url, {
    statementTimeoutMs: config.statementTimeoutMs,
    connectionTimeoutMs: config.poolTimeoutMs,
    maxPoolSize,
  });
  return buildApp({ pool, closePool: true, config, shedLoad: false });
}

/** Another session (backend `pid`) holds the table, so the metrics queries wait on its lock. */
async function lockTable(): Promise<{ pid: number; unlock: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await client.query('BEGIN');
  await client.query('LOCK TABLE job_execution_summaries IN ACCESS EXCLUSIVE MODE');
  let released: Promise<void> | undefined;
  const unlock = () => (released ??= client.query('ROLLBACK').then(() => client.end()));
  return { pid: rows[0]!.pid, unlock };
}

const timed = async (promise: Promise<{ statusCode: number }>) => {
  const started = performance.now();
  const response = await promise;
  return { response: response as Awaited<typeof promise> & { json(): any; headers: Record<string, unknown> }, ms: performance.now() - started };
};

t.test('a query over the statement timeout is a 504 problem, and the service stays usable', async (t) => {
  const app = await appWith({});
  t.teardown(() => app.close());
  t.equal((await app.inject('/metrics/system')).statusCode, 200, 'a pooled connection exists');
  const { unlock } = await lockTable();
  try {
    const { response, ms } = await timed(app.inject('/metrics/system'));
    t.equal(response.statusCode, 504);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(response.json(), { status: 504, detail: /time limit/ });
    t.notMatch(JSON.stringify(response.json()), /LOCK|SELECT|canceling statement/, 'no SQL or driver text');
    // The lock is held until after the answer and the detail names the statement timeout; the bound
    // is the user's promise that it ends the wait promptly (up to 2.5 s seen at load average 16).
    t.ok(ms < 10_000, `answered in ${Math.round(ms)} ms (statement timeout 800 ms)`);
  } finally {
    await unlock();
  }
  t.equal((await app.inject('/metrics/system')).statusCode, 200, 'next request is fine');
});

t.test('when every connection is busy, requests are shed with 503 and Retry-After', async (t) => {
  // The statement timeout is far beyond the test: the first request ends only when the lock goes.
  const app = await appWith({ STATEMENT_TIMEOUT_MS: '60000' }, 1);
  t.teardown(() => app.close());
  const { pid, unlock } = await lockTable();
  let holdingDone = false;
  try {
    const holding = app.inject('/metrics/system').finally(() => (holdingDone = true));
    // Its query waiting on the lock means it holds the only pooled connection.
    await waitUntilBlockedBy(db.pool, pid);
    const { response, ms } = await timed(app.inject(`/metrics/worker/${encodeURIComponent(MAILER)}`));
    t.equal(response.statusCode, 503);
    t.equal(response.headers['retry-after'], '5');
    t.match(response.json(), { status: 503, detail: /busy/ });
    // Shed after the pool wait (2 s), not queued behind the query: that one is still waiting.
    t.notOk(holdingDone, `shed (after ${Math.round(ms)} ms) while the first request still runs`);
    t.ok(await isBlocking(db.pool, pid), 'its query still waits on the lock');
    await unlock();
    t.equal((await holding).statusCode, 200, 'the first request completes once the lock is gone');
  } finally {
    await unlock();
  }
});

t.test('database down: fast 503s and not ready; back up: correct answers without a restart', { skip: db.canStopServer ? false : STOPS_SERVER }, async (t) => {
  const app = await appWith({});
  t.teardown(() => app.close());
  t.equal((await app.inject('/metrics/system')).statusCode, 200);
  await db.stopServer();
  try {
    for (const url of ['/metrics/system?hours=24', `/metrics/worker/${encodeURIComponent(MAILER)}`, '/metrics/workers']) {
      const { response, ms } = await timed(app.inject(url));
      t.equal(response.statusCode, 503, url);
      t.equal(response.headers['retry-after'], '5');
      t.match(response.json(), { type: /database-unavailable/, status: 503 });
      // The user's promise: a refused connection is answered at once (tens of ms here), not after
      // a deadline; 3 s holds on a loaded machine.
      t.ok(ms < 3_000, `${url} answered in ${Math.round(ms)} ms`);
    }
    const ready = await app.inject('/health/ready');
    t.equal(ready.statusCode, 503, 'not ready while the database is down');
    t.equal((await app.inject('/health/live')).statusCode, 200, 'but alive');
  } finally {
    await db.startServer();
  }
  const back = await app.inject('/metrics/system?hours=8760');
  t.equal(back.statusCode, 200, 'recovered by itself');
  t.equal(back.json().executions, oracle(rows, 8760).executions, 'with the right numbers');
  t.equal((await app.inject('/health/ready')).statusCode, 200);
});

t.test('a database that stops answering (frozen, not refused) hits the request deadline: 504', { skip: db.canStopServer ? false : STOPS_SERVER }, async (t) => {
  const app = await appWith({});
  t.teardown(() => app.close());
  t.equal((await app.inject('/metrics/system')).statusCode, 200, 'a pooled connection exists');
  const postmaster = Number(readFileSync(`${db.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  const pids = [postmaster, ...execFileSync('pgrep', ['-P', String(postmaster)]).toString().trim().split('\n').map(Number)];
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    const { response, ms } = await timed(app.inject('/metrics/system'));
    // 504 when the pooled connection's backend is frozen mid-query; 503 when the pool had already
    // let it go idle-timeout and a new connection cannot be set up. Either way: quick, never a hang.
    t.ok([503, 504].includes(response.statusCode), `answered ${response.statusCode}`);
    t.match(response.json(), { status: response.statusCode, detail: /did not answer|not answering/ });
    // The user's promise: a frozen database costs one request deadline, not a hang (3.8 s, 2.5× margin).
    t.ok(ms < 10_000, `answered in ${Math.round(ms)} ms (deadline 2000 + 800 + 1000)`);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
});

t.test('writes can be rate limited per client: 429 problem with Retry-After', async (t) => {
  const app = await appWith({ RATE_LIMIT_WRITES_PER_MIN: '2' });
  t.teardown(() => app.close());
  app.post('/probe-write', async (_request, reply) => reply.code(204).send());
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push(await app.inject({ method: 'POST', url: '/probe-write' }));
  t.same(statuses.map((r) => r.statusCode), [204, 204, 429]);
  const limited = statuses[2]!;
  t.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  t.match(limited.json(), { status: 429, detail: /2 write requests per minute/ });
  t.equal((await app.inject('/metrics/system')).statusCode, 200, 'reads are not limited');
});

t.test('behind proxies named by TRUST_PROXY, the limit is per client, not per proxy', async (t) => {
  const write = (app: Awaited<ReturnType<typeof appWith>>, from: string, forwardedFor?: string) =>
    app
      .inject({ method: 'POST', url: '/probe-write', remoteAddress: from, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} })
      .then((response) => response.statusCode);
  const PROXY = '10.0.0.5';
  for (const trust of ['1', '10.0.0.0/8', PROXY]) {
    const app = await appWith({ RATE_LIMIT_WRITES_PER_MIN: '2', TRUST_PROXY: trust });
    t.teardown(() => app.close());
    app.post('/probe-write', async (_request, reply) => reply.code(204).send());
    const statuses = [];
    for (const client of ['192.0.2.1', '192.0.2.1', '192.0.2.2', '192.0.2.2', '192.0.2.1']) statuses.push(await write(app, PROXY, client));
    t.same(statuses, [204, 204, 204, 204, 429], `TRUST_PROXY=${trust}: each client behind the proxy has its own budget`);
    // A hop count trusts whoever connects (the service must be reachable through the proxy only);
    // with addresses, a client that is not a trusted proxy cannot pick its address by the header.
    if (trust === '1') continue;
    const spoofing = [];
    for (let i = 0; i < 3; i++) spoofing.push(await write(app, '198.51.100.7', `203.0.113.${i}`));
    t.same(spoofing, [204, 204, 429], `TRUST_PROXY=${trust}: a direct client's X-Forwarded-For is not believed`);
  }

  const unset = await appWith({ RATE_LIMIT_WRITES_PER_MIN: '2' });
  t.teardown(() => unset.close());
  unset.post('/probe-write', async (_request, reply) => reply.code(204).send());
  const statuses = [];
  for (const client of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) statuses.push(await write(unset, PROXY, client));
  t.same(statuses, [204, 204, 429], 'without TRUST_PROXY, X-Forwarded-For is ignored: the proxy is the client');
});

t.test('security headers, request ids and no limit by default', async (t) => {
  const app = await appWith({});
  t.teardown(() => app.close());
  app.post('/probe-write', async (_request, reply) => reply.code(204).send());
  const response = await app.inject({ url: '/metrics/system', headers: { 'x-request-id': 'trace-123' } });
  t.match(response.headers['content-security-policy'], /default-src 'self'/);
  t.notMatch(response.headers['content-security-policy'], /unsafe-inline|upgrade-insecure-requests/);
  t.equal(response.headers['x-content-type-options'], 'nosniff');
  t.equal(response.headers['x-request-id'], 'trace-123', 'a caller-supplied id is kept');
  const problem = await app.inject({ url: '/metrics/system?hours=0', headers: { 'x-request-id': 'bad id with spaces' } });
  const id = problem.json().request_id;
  t.match(id, /^[0-9a-f-]{36}$/, 'an unsafe id is replaced');
  t.equal(problem.headers['x-request-id'], id, 'the problem document carries the same id');
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'POST', url: '/probe-write' })).statusCode, 204);
});

t.test('a database that is not migrated answers 503 saying so, not a 500', async (t) => {
  const bare = await startTestDatabase(t, { migrate: false });
  const app = await buildApp({ pool: bare.pool, shedLoad: false });
  t.teardown(() => app.close());
  const response = await app.inject('/metrics/system');
  t.equal(response.statusCode, 503);
  t.match(response.json(), { detail: /npm run migrate -- up/ });
  t.equal((await app.inject('/health/ready')).statusCode, 503);
});
