import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { get, request, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';

const INGEST_TOKEN = 'ingest-0123456789abcdef0123456789';
const READ_TOKEN = 'read-0123456789abcdef0123456789ab';
const db = await startTestDatabase(t);
const open = await startTestApp(t, db);
const secured = await startTestApp(t, db, { config: loadConfig({ INGEST_TOKEN, READ_TOKEN }) });

const batch = (job_id: number) => ({ executions: [{ job_id, worker: 'Auth.Worker', state: 'completed' }] });
const rowCount = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*) AS n FROM job_execution_summaries`);

t.test('without INGEST_TOKEN the endpoint is disabled with a 403 saying how to enable it', async (t) => {
  for (const authorization of [undefined, `Bearer ${INGEST_TOKEN}`]) {
    const response = await request(t, open, {
      method: 'POST', url: '/job-executions', headers: authorization ? { authorization } : {}, payload: batch(1),
    });
    t.equal(response.statusCode, 403);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(response.json(), { status: 403, detail: /INGEST_TOKEN/ });
  }
  t.equal(await rowCount(), 0, 'nothing written');
});

t.test('a missing or wrong ingest token is a 401, the right one writes', async (t) => {
  const wrong: [string, string | undefined][] = [
    ['no header', undefined],
    ['empty', ''],
    ['another scheme', `Basic ${Buffer.from(`x:${INGEST_TOKEN}`).toString('base64')}`],
    ['no token', 'Bearer '],
    ['a wrong token of the same length', `Bearer ${INGEST_TOKEN.slice(0, -1)}x`],
    ['a prefix of the token', `Bearer ${INGEST_TOKEN.slice(0, 10)}`],
    ['the token and more', `Bearer ${INGEST_TOKEN}x`],
    ['the read token', `Bearer ${READ_TOKEN}`],
  ];
  for (const [name, authorization] of wrong) {
    const response = await request(t, secured, {
      method: 'POST', url: '/job-executions', headers: authorization === undefined ? {} : { authorization }, payload: batch(2),
    });
    t.equal(response.statusCode, 401, name);
    t.equal(response.headers['www-authenticate'], 'Bearer realm="job-metrics"', `${name}: WWW-Authenticate`);
    t.match(response.json(), { status: 401, detail: /Authorization/ }, name);
    t.notMatch(response.body, new RegExp(INGEST_TOKEN), `${name}: the token is never echoed`);
  }
  t.equal(await rowCount(), 0, 'nothing written');

  const oversize = await request(t, secured, {
    method: 'POST', url: '/job-executions', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(2_000_000),
  });
  t.equal(oversize.statusCode, 401, 'the token is checked before the body is read');

  for (const authorization of [`Bearer ${INGEST_TOKEN}`, `bearer  ${INGEST_TOKEN}`]) {
    const response = await request(t, secured, { method: 'POST', url: '/job-executions', headers: { authorization }, payload: batch(3) });
    t.equal(response.statusCode, 201, authorization.slice(0, 8));
  }
  t.equal(await rowCount(), 1);
});

t.test('with READ_TOKEN, reads need it; health and the docs stay open', async (t) => {
  for (const url of ['/metrics/system', '/metrics/workers', '/metrics/worker/Auth.Worker', '/job-executions', '/analysis/tmdb-threshold']) {
    const anonymous = await get(t, secured, url);
    t.equal(anonymous.statusCode, 401, `${url} without a token`);
    t.match(anonymous.json(), { status: 401, detail: /READ_TOKEN/ });
    const wrong = await get(t, secured, url, { authorization: `Bearer ${INGEST_TOKEN}` });
    t.equal(wrong.statusCode, 401, `${url} with the ingest token`);
    const allowed = await get(t, secured, url, { authorization: `Bearer ${READ_TOKEN}` });
    t.equal(allowed.statusCode, 200, `${url} with the read token`);
    t.equal((await get(t, open, url)).statusCode, 200, `${url} is open without READ_TOKEN configured`);
  }
  t.equal((await get(t, secured, '/metrics/system?hours=0')).statusCode, 401, 'the token is checked before the input');
  for (const url of ['/health/live', '/health/ready', '/openapi.json', '/docs']) {
    const response = await secured.inject({ method: 'GET', url });
    t.ok(response.statusCode < 400, `${url} needs no token (${response.statusCode})`);
  }
});

t.test('the spec declares the bearer schemes each operation needs', async (t) => {
  const spec = (await secured.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.match(spec.components.securitySchemes, { ingestToken: { type: 'http', scheme: 'bearer' }, readToken: { type: 'http', scheme: 'bearer' } });
  t.same(spec.paths['/job-executions'].post.security, [{ ingestToken: [] }]);
  t.same(spec.paths['/metrics/system'].get.security, [{ readToken: [] }, {}], 'reads: the token, or none when unset');
  t.notOk(spec.paths['/health/live'].get.security, 'health declares no security');
});
