import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.ts';
import { failures, runScript } from './helpers/cli.ts';
import { startTestDatabase, STOPS_SERVER } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const app = await buildApp({ pool: db.pool, shedLoad: false });
await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(() => app.close());
const healthy = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

/** A service that answers, but wrongly: the kinds of breakage a bad deploy brings. */
const broken = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  const json = (status: number, body: unknown, type = 'application/json') => {
    response.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
  };
  const now = new Date();
  const metrics = {
    window: { hours: 24, from: new Date(now.getTime() - 86_400_000).toISOString(), to: now.toISOString() },
    executions: 3,
    states: { completed: 0, retryable: 0, discarded: 0, cancelled: 3, snoozed: 0 },
    success_rate: 0,
    cancellations: { total: 3, unknown: 0, by_reason: [{ reason: 'movie not matched', count: 2 }], other_reasons: { count: 0, reasons: 0 } },
    duration_ms: null,
  };
  if (url.pathname === '/health/live') return json(200, { status: 'ok' });
  if (url.pathname === '/health/ready') return json(503, { type: 'x', title: 'Database unavailable', status: 503, detail: 'down' }, 'application/problem+json');
  if (url.pathname === '/metrics/system') return url.searchParams.get('hours') === '0' ? json(500, 'Internal error', 'text/plain') : json(200, metrics);
  if (url.pathname === '/metrics/workers') return json(200, { workers: [{ worker: 'A', last_seen: 'yesterday' }] });
  return json(404, { message: 'not found' });
});
await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => broken.close(() => resolve())));
const brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;

t.test('§3 smoke passes against a healthy service, and the doctor agrees with it', async (t) => {
  const smoke = await runScript('smoke', ['--url', healthy]);
  t.equal(smoke.code, 0, 'exits 0', { output: smoke.stdout + smoke.stderr });
  t.same(failures(smoke), []);
  t.match(smoke.stdout, /smoke: all 7 checks passed/);
  const doctor = await runScript('doctor', ['--url', healthy, '--hours', '168'], { DATABASE_URL: db.url });
  t.equal(doctor.code, 0, 'exits 0', { output: doctor.stdout + doctor.stderr });
  t.match(doctor.stdout, /^PASS  service \/metrics\/system matches the database \(168 h\)/m);
});

t.test('§3 smoke fails against a broken service, one line per failure', async (t) => {
  const smoke = await runScript('smoke', ['--url', brokenUrl]);
  t.equal(smoke.code, 1);
  t.match(failures(smoke), [
    /^FAIL  GET \/health\/ready: 503 application\/problem\+json/,
    /^FAIL  GET \/metrics\/system\?hours=24: 1 problem/,
    /^FAIL  GET \/metrics\/workers: 1 problem/,
    /^FAIL  GET \/metrics\/system\?hours=0 is a 400 problem/,
    /^FAIL  an unknown worker is a 404 problem/,
  ]);
  t.match(smoke.stdout, /last_seen must match format "date-time"/);
  t.match(smoke.stdout, /cancellations\.total 3 ≠ unknown 0 \+ Σ by_reason \+ other_reasons 2/);
  t.match(smoke.stdout, /expected 400 application\/problem\+json, got 500 text\/plain/);
  t.match(smoke.stdout, /smoke: 5 of 6 checks failed/);
});

t.test('§2 doctor --url prints every figure where the service and the database differ', async (t) => {
  const doctor = await runScript('doctor', ['--url', brokenUrl], { DATABASE_URL: db.url });
  t.equal(doctor.code, 1);
  t.match(failures(doctor), [/^FAIL  service \/health\/ready/, /^FAIL  service \/metrics\/system matches the database \(24 h\)/]);
  t.match(doctor.stdout, /cancellations\.unknown: answer 0, database \d+/);
});

t.test('a bad --url is a clear error', async (t) => {
  const smoke = await runScript('smoke', ['--url', 'localhost:3000']);
  t.equal(smoke.code, 1);
  t.match(smoke.stderr, /--url must start with http:\/\/ or https:\/\//);
});

t.test('§3 smoke fails while the service’s database is down', { skip: db.canStopServer ? false : STOPS_SERVER }, async (t) => {
  await db.stopServer();
  t.teardown(() => db.startServer());
  const smoke = await runScript('smoke', ['--url', healthy]);
  t.equal(smoke.code, 1);
  t.match(failures(smoke)[0], /^FAIL  GET \/health\/ready: 503 application\/problem\+json/);
  t.match(smoke.stdout, /expected 200 application\/json, got 503 application\/problem\+json/);
});
