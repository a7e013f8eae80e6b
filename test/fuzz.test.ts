import t from 'tap';
import fc from 'fast-check';
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, nastyRows, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);
await insertRows(db.pool, nastyRows());

const checksum = () =>
  db.pool.oneFirst(sql.type(z.object({ c: z.string() }))`
    SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS c FROM job_execution_summaries t
  `);

const segment = fc.oneof(
  fc.constantFrom('metrics', 'system', 'worker', 'workers', 'health', 'live', 'ready', 'openapi.json', 'docs', 'job-executions', 'analysis', 'dashboard', 'timeseries', '..', '.', '%2F', '%00', '%E0%A4%A', '%'),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constant(encodeURIComponent(MAILER)),
  fc.constant(encodeURIComponent(UNICODE_WORKER)),
  fc.string({ minLength: 250, maxLength: 400 }).map(encodeURIComponent),
);
const knownPrefix = fc.constantFrom('', '/metrics/system', '/metrics/worker', '/metrics/workers', '/health', '/job-executions', '/analysis/tmdb-threshold', '/metrics/system/timeseries');
const path = fc.tuple(knownPrefix, fc.array(segment, { maxLength: 3 })).map(([prefix, parts]) => [prefix, ...parts].join('/') || '/');
const queryValue = fc.oneof(
  fc.constantFrom('0', '1', '24', '8760', '8761', '-1', '1.5', '1e3', '+5', ' 5', '', 'abc', 'true', 'hour', 'day', 'null', '[]', '%00', 'ZZZ%'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.integer().map(String),
);
const query = fc
  .array(fc.tuple(fc.constantFrom('hours', 'bucket', 'limit', 'cursor', 'reason', 'unknown', 'state', 'worker', 'from', 'to', 'x', 'hours[]', '__proto__'), queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&') : ''));
const headers = fc.record(
  {
    accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/xml', 'garbage/', ''),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json; charset=latin1', ';;'),
    authorization: fc.constantFrom('Bearer x', 'Bearer ', 'Basic Zm9vOmJhcg==', '\u00ff\u00fe'.replace(/[^\x20-\x7e]/g, '?')),
    'x-request-id': fc.string({ maxLength: 200 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.constant('{"executions": [{"job_id": 1, "worker": "w", "state": "completed"}]}'),
  fc.constant('{"__proto__": {"polluted": true}}'),
  fc.constant('{"constructor": {"prototype": {"polluted": true}}}'),
);
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');

t.test('1,200 hostile requests: no 5xx, every error a problem document, reads change nothing', async (t) => {
  const before = await checksum();
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
      const response = await app.inject({ method: m as 'GET', url: p + q, headers: h, payload: m === 'GET' || m === 'HEAD' ? undefined : b });
      seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode >= 500 && response.statusCode !== 503) {
        throw new Error(`${m} ${p + q} → ${response.statusCode}: ${response.body.slice(0, 300)}`);
      }
      if (response.statusCode >= 400) {
        const type = String(response.headers['content-type']);
        if (!type.startsWith('application/problem+json')) throw new Error(`${m} ${p + q} → ${response.statusCode} as ${type}`);
        if (m !== 'HEAD') {
          const problem = response.json();
          for (const key of ['type', 'title', 'status', 'detail']) {
            if (!(key in problem)) throw new Error(`${m} ${p + q}: problem without ${key}`);
          }
          if (/node_modules|\.ts:\d+|SELECT |at async/.test(response.body)) throw new Error(`leak: ${response.body.slice(0, 300)}`);
        }
      }
    }),
    { numRuns: 1_200, seed: Number(process.env.FUZZ_SEED ?? 20261125) },
  );
  t.equal(await checksum(), before, 'the table is unchanged by reads');
  t.ok(({} as Record<string, unknown>).polluted === undefined, 'no prototype pollution');
  t.comment(`statuses seen: ${JSON.stringify(Object.fromEntries(seen))}`);
});
