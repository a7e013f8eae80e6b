import t from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);
await insertRows(db.pool, nastyRows());

const BAD_HOURS = ['0', '-1', '1.5', '1e3', 'abc', '', '8761', '+5', '%205', '5%20', '0x10', '0', '00', '99999999999999999999', '1,2', 'NaN', 'Infinity'];
const tableChecksum = () =>
  db.pool.oneFirst(sql.type(z.object({ c: z.string() }))`
    SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) AS c FROM job_execution_summaries t
  `);

t.test('a bad hours value is a 400 problem naming hours, on every metrics route', async (t) => {
  for (const path of ['/metrics/system', `/metrics/worker/${encodeURIComponent(MAILER)}`, '/metrics/worker/Never.Seen']) {
    for (const hours of BAD_HOURS) {
      const response = await get(t, app, `${path}?hours=${hours}`);
      t.equal(response.statusCode, 400, `${path}?hours=${hours}`);
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      const body = response.json();
      t.match(body, { type: String, title: String, status: 400, detail: /hours/ });
      t.notMatch(response.body, /at .*\.ts:\d+|SELECT|node_modules/, 'no stack or SQL');
    }
    const repeated = await get(t, app, `${path}?hours=1&hours=2`);
    t.equal(repeated.statusCode, 400, 'hours given twice');
    t.match(repeated.json(), { detail: /hours/ });
  }
});

t.test('every valid hours value is accepted, and unknown parameters are ignored', async (t) => {
  for (const hours of ['1', '9', '10', '99', '100', '999', '1000', '8759', '8760', '024', '01', '0008760']) {
    const response = await get(t, app, `/metrics/system?hours=${hours}&unknown=1&bucket=x`);
    t.equal(response.statusCode, 200, `hours=${hours}`);
    t.equal(response.json().window.hours, Number(hours), 'leading zeros are plain decimal digits too');
  }
});

t.test('worker names: long, odd and hostile names are 4xx, never 5xx', async (t) => {
  const cases: [string, number][] = [
    ['x'.repeat(256), 400],
    ['x'.repeat(5000), 400],
    ['界'.repeat(256), 400],
    ["'; DROP TABLE job_execution_summaries; --", 404],
    ['Robert\u0000Tables', 400],
    ['../../etc/passwd', 404],
    ['%', 404],
    ['%%', 404],
  ];
  for (const [name, status] of cases) {
    const response = await get(t, app, `/metrics/worker/${encodeURIComponent(name)}`);
    t.equal(response.statusCode, status, `${name.slice(0, 20)}… (${name.length} chars)`);
    t.match(response.json(), { status, detail: String });
  }
  // 18,000 characters encoded: past the router's old limit of 12,240, it got a bare "not a valid url
  // component" quoting the URL twice.
  for (const path of [`/metrics/worker/${encodeURIComponent('界'.repeat(2000))}`, `/metrics/worker/${encodeURIComponent('界'.repeat(2000))}/timeseries`]) {
    const long = await app.inject({ method: 'GET', url: path });
    t.equal(long.statusCode, 400, `${path.length}-character path`);
    t.match(long.json(), { detail: /path parameter "name"/ });
    t.ok(long.body.length < path.length * 1.5, 'the answer does not repeat the URL twice');
  }
  const raw = await app.inject({ method: 'GET', url: '/metrics/worker/%E0%A4%A' }); // broken percent-encoding
  t.equal(raw.statusCode, 400, 'malformed encoding');
  t.equal(raw.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(raw.json(), { detail: /cannot be decoded/ });
  t.notMatch(raw.json().detail, /%E0/, 'the detail says what is wrong, without quoting the URL');
});

t.test('a query value that cannot be decoded is a 400 naming it; an unknown parameter is ignored', async (t) => {
  const cases: [string, string][] = [
    ['/job-executions?worker=%zz', 'worker'],
    ['/job-executions?state=cancelled&reason=%C0%AF', 'reason'],
    ['/job-executions?reason=%ED%A0%80', 'reason'],
    ['/metrics/system?hours=%', 'hours'],
    ['/job-executions?cursor=1.2%', 'cursor'],
  ];
  for (const [url, name] of cases) {
    const response = await get(t, app, url);
    t.equal(response.statusCode, 400, url);
    t.match(response.json(), { detail: new RegExp(`query parameter "${name}" must be percent-encoded UTF-8`), errors: [{ field: name }] });
  }
  t.equal((await get(t, app, '/metrics/system?hours=24&other=%zz')).statusCode, 200, 'an unknown parameter is ignored, decodable or not');
  const encoded = await get(t, app, `/job-executions?worker=${encodeURIComponent(MAILER)}&hours=8760`);
  t.equal(encoded.statusCode, 200, 'a well-encoded value is served');
});

t.test('an unknown route is a 404 problem document', async (t) => {
  for (const url of ['/nope', '/metrics/worker', '/metrics/system/extra', '/metrics/prometheus']) {
    const response = await app.inject({ method: 'GET', url });
    t.equal(response.statusCode, 404, url);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(response.json(), { status: 404, type: String, title: String, detail: String });
  }
});

t.test('reads never change a row', async (t) => {
  const before = await tableChecksum();
  for (const url of ['/metrics/system?hours=8760', `/metrics/worker/${encodeURIComponent(MAILER)}`, '/metrics/workers']) {
    await app.inject({ method: 'GET', url });
  }
  t.equal(await tableChecksum(), before);
});
