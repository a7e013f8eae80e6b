import t from 'tap';
import { sql } from 'slonik';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { request, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const INGEST_TOKEN = 'compression-ingest-token-0123456789';
const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const app = await startTestApp(t, db, { config: loadConfig({ INGEST_TOKEN }) });

/** The job series of an exposition: the process's own figures move between two scrapes. */
const jobLines = (text: string) => text.split('\n').filter((line) => line.startsWith('job_')).sort();

t.test('a client that asks for gzip gets the same answer gzipped: Prometheus, JSON', async (t) => {
  const plain = await app.inject({ url: '/metrics' });
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: sent as is');
  for (const accept of ['text/plain;version=0.0.4', 'application/openmetrics-text;version=1.0.0']) {
    const gzipped = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip', accept } });
    t.equal(gzipped.headers['content-encoding'], 'gzip', `${accept}: gzipped`);
    t.match(gzipped.headers.vary, /accept-encoding/i, 'caches keep the two apart');
    const text = gunzipSync(gzipped.rawPayload).toString('utf8');
    const again = await app.inject({ url: '/metrics', headers: { accept } });
    t.same(jobLines(text), jobLines(again.body), `${accept}: the same job series`);
    t.ok(jobLines(text).length > 10);
  }

  const url = '/metrics/system?hours=8760&compare=previous';
  const json = await app.inject({ url });
  t.ok(json.rawPayload.length >= 1024, `${url} is over the 1 KiB threshold (${json.rawPayload.length} bytes)`);
  const deflated = await app.inject({ url, headers: { 'accept-encoding': 'deflate' } });
  t.equal(deflated.headers['content-encoding'], 'deflate');
  const body = JSON.parse(inflateSync(deflated.rawPayload).toString('utf8'));
  // The windows end at each request's own now: compare the figures, not the times.
  const figures = (answer: Record<string, unknown>) => JSON.stringify(answer, (key, value) => (['window', 'meta', 'as_of'].includes(key) ? undefined : value));
  t.equal(figures(body), figures(json.json()), 'the same figures');

  const problem = await app.inject({ url: '/metrics/system?hours=0', headers: { 'accept-encoding': 'gzip' } });
  t.equal(problem.headers['content-encoding'], undefined, 'a small answer is not worth compressing');
  t.equal(problem.json().status, 400);
  const br = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'br' } });
  t.equal(br.headers['content-encoding'], undefined, 'an encoding not offered: sent as is');
});

t.test('a compressed ingest body is refused by name (415, Accept-Encoding: identity), nothing stored', async (t) => {
  const count = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM job_execution_summaries`);
  const before = await count();
  const body = JSON.stringify({ executions: [{ job_id: 77_000_001, worker: 'Gzip.Worker', state: 'completed', duration_ms: 5 }] });
  const headers = { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' };
  for (const coding of ['gzip', 'GZIP', 'br, gzip']) {
    const refused = await request(t, app, { method: 'POST', url: '/job-executions', headers: { ...headers, 'content-encoding': coding }, payload: gzipSync(body) });
    t.equal(refused.statusCode, 415, coding);
    t.equal(refused.headers['accept-encoding'], 'identity');
    t.match(refused.json(), { status: 415, detail: /^Content-Encoding ".+" is not accepted: send the JSON body uncompressed/ });
  }
  t.equal(await count(), before, 'nothing was stored');
  const stored = await request(t, app, { method: 'POST', url: '/job-executions', headers: { ...headers, 'content-encoding': 'identity' }, payload: body });
  t.equal(stored.statusCode, 201, 'Content-Encoding: identity is the body as sent');
  const anonymous = await app.inject({ method: 'POST', url: '/job-executions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(body) });
  t.equal(anonymous.statusCode, 401, 'the token is checked first');
});
