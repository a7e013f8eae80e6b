import fc from 'fast-check';
import pg from 'pg';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { get, request, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { waitUntilBlockedBy } from './helpers/locks.ts';
import { durationDifferences, oracle, type Json, type TestRow } from './helpers/rows.ts';
import { rfc3339Millis } from '../src/ingest/check-executions.ts';
import type { Execution } from '../src/schemas/executions.ts';

const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
const db = await startTestDatabase(t);
const app = await startTestApp(t, db, { config: loadConfig({ INGEST_TOKEN }) });
const auth = { authorization: `Bearer ${INGEST_TOKEN}` };

/** POST a batch, asserting the answer is what the spec declares. */
const post = (t: Test, executions: unknown) =>
  request(t, app, { method: 'POST', url: '/job-executions', headers: auth, payload: { executions } as object });

const tableChecksum = () =>
  db.pool.oneFirst(sql.type(z.object({ c: z.string() }))`
    SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) AS c FROM job_execution_summaries t
  `);

let nextJobId = 1;
/** An execution `age_s` seconds old, with the TestRow the metrics oracle expects for it. */
function execution(worker: string, age_s: number, fields: Partial<Execution> = {}): { item: Execution; row: TestRow } {
  const item: Execution = {
    job_id: nextJobId++,
    worker,
    state: 'completed',
    inserted_at: new Date(Date.now() - age_s * 1000).toISOString(),
    ...fields,
  };
  const results = item.results === null ? undefined : (item.results as Json | undefined);
  return { item, row: { ...item, results, age_s } as TestRow };
}

t.test('an accepted batch is counted by the metrics at once', async (t) => {
  const worker = 'Ingest.Accepted';
  const sent = [
    ...Array.from({ length: 30 }, (_, i) => execution(worker, 60 + i * 90, { duration_ms: i * 37 })),
    ...Array.from({ length: 10 }, (_, i) =>
      execution(worker, 120 + i, { state: 'cancelled', results: { cancel_reason: i % 3 === 0 ? 'movie not matched' : 'venue closed' } }),
    ),
    execution(worker, 300, { state: 'retryable', attempt: 2, duration_ms: null }),
    execution(worker, 5 * 3600, { state: 'discarded' }),
  ];
  const response = await post(t, sent.map((s) => s.item));
  t.equal(response.statusCode, 201);
  t.same(response.json(), { inserted: sent.length, duplicates: 0 });

  const rows = sent.map((s) => s.row);
  for (const hours of [1, 24]) {
    const metrics = (await get(t, app, `/metrics/worker/${worker}?hours=${hours}`)).json();
    const expected = oracle(rows, hours, worker);
    t.equal(metrics.executions, expected.executions, `${hours} h executions`);
    t.same(metrics.states, expected.states, `${hours} h states`);
    t.same(metrics.cancellations, expected.cancellations, `${hours} h cancellations`);
    t.same(durationDifferences(metrics.duration_ms, expected.duration_ms, metrics.meta?.percentile_error_bound), [], `${hours} h durations`);
  }
});

t.test('every field survives the round trip; absent and null results are SQL NULL', async (t) => {
  const worker = 'Ingest.RoundTrip \u00e9 "quoted" / slashed 😀';
  const items: Execution[] = [
    { job_id: 9_007_199_254_740_991, attempt: 3, worker, queue: 'q', state: 'snoozed', results: { a: [1, 'x', null], b: { c: true } }, duration_ms: 0, inserted_at: '2026-11-25T10:00:00.123456Z' },
    { job_id: 555_001, worker, state: 'completed' },
    { job_id: 555_002, worker, queue: null, state: 'completed', results: null, duration_ms: null, inserted_at: '2026-11-25 15:30:00.5+05:30' },
    { job_id: 555_003, worker, state: 'completed', results: {}, inserted_at: '2026-11-25t10:00:00z' },
  ];
  const before = await db.pool.oneFirst(sql.type(z.object({ now: z.string() }))`SELECT now() AS now`);
  t.equal((await post(t, items)).statusCode, 201);
  const stored = await db.pool.any(sql.type(
    z.object({ job_id: z.string(), attempt: z.number(), worker: z.string(), queue: z.string().nullable(), state: z.string(), results: z.unknown(), results_is_null: z.boolean(), duration_ms: z.number().nullable(), micros: z.string(), inserted_at: z.string() }),
  )`
    SELECT job_id::text, attempt, worker, queue, state, results, results IS NULL AS results_is_null, duration_ms, inserted_at,
           to_char(inserted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS micros
    FROM job_execution_summaries WHERE worker = ${worker} ORDER BY job_id
  `);
  t.same(stored.map((r) => r.job_id), ['555001', '555002', '555003', '9007199254740991'], 'job ids exact, up to 2^53 - 1');
  const [plain, nulls, empty, full] = stored;
  t.match(full, { attempt: 3, worker, queue: 'q', state: 'snoozed', results: { a: [1, 'x', null], b: { c: true } }, duration_ms: 0, micros: '2026-11-25T10:00:00.123456' });
  t.match(plain, { attempt: 1, queue: null, results_is_null: true, duration_ms: null }, 'absent fields: defaults and NULLs');
  t.ok(Date.parse(plain!.inserted_at) >= Date.parse(before), 'absent inserted_at is the time of insertion');
  t.match(nulls, { results_is_null: true, micros: '2026-11-25T10:00:00.500000' }, 'results: null is SQL NULL; offsets honoured');
  t.match(empty, { results_is_null: false, results: {}, micros: '2026-11-25T10:00:00.000000' }, 'an empty object is stored');
});

t.test('cancel_reason variants round-trip and count per the contract', async (t) => {
  const worker = 'Ingest.Reasons';
  const variants: (Execution['results'] | undefined)[] = [
    undefined, null, {}, { cancel_reason: null }, { cancel_reason: 'unknown' }, { cancel_reason: '' },
    { cancel_reason: 'Unknown' }, { cancel_reason: 42 }, { cancel_reason: '42' },
  ];
  const sent = variants.map((results) =>
    execution(worker, 30, results === undefined ? { state: 'cancelled' } : { state: 'cancelled', results }),
  );
  sent.push(execution(worker, 30, { state: 'completed', results: { cancel_reason: 'ignored' } }));
  t.equal((await post(t, sent.map((s) => s.item))).statusCode, 201);

  const stored = await db.pool.any(sql.type(z.object({ results: z.unknown() }))`
    SELECT results FROM job_execution_summaries WHERE worker = ${worker} ORDER BY job_id
  `);
  t.same(stored.map((r) => r.results), [...variants.map((v) => v ?? null), { cancel_reason: 'ignored' }], 'stored as sent');

  const { cancellations } = (await get(t, app, `/metrics/worker/${worker}?hours=1`)).json();
  t.equal(cancellations.unknown, 4, 'missing results, null results, missing key, JSON null key');
  t.same(
    Object.fromEntries(cancellations.by_reason.map((r: { reason: string; count: number }) => [r.reason, r.count])),
    { unknown: 1, '': 1, Unknown: 1, '42': 2 },
    'a literal "unknown", the empty string and case are reasons of their own',
  );
  t.equal(cancellations.total, 9);
  t.same(cancellations, oracle(sent.map((s) => s.row), 1, worker).cancellations, 'the oracle agrees');
});

t.test('a duplicate batch changes nothing and reports duplicates', async (t) => {
  const worker = 'Ingest.Duplicates';
  const batch = Array.from({ length: 50 }, (_, i) => execution(worker, 10, { attempt: 1 + (i % 2) }).item);
  t.same((await post(t, batch)).json(), { inserted: 50, duplicates: 0 });
  const checksum = await tableChecksum();

  const again = await post(t, batch.map((item) => ({ ...item, state: 'discarded', duration_ms: 1 })));
  t.equal(again.statusCode, 201);
  t.same(again.json(), { inserted: 0, duplicates: 50 }, 'same (job_id, attempt), other values: duplicates');
  t.equal(await tableChecksum(), checksum, 'no row changed');

  const fresh = execution(worker, 10).item;
  const mixed = await post(t, [batch[0], fresh, fresh, batch[1], { ...fresh, attempt: 2 }]);
  t.same(mixed.json(), { inserted: 2, duplicates: 3 }, 'a pair repeated inside one batch is stored once');
});

t.test('names made only of dots: "." and ".." are refused, longer ones are served by their path', async (t) => {
  for (const worker of ['.', '..']) {
    const response = await post(t, [execution(worker, 10).item]);
    t.equal(response.statusCode, 400, worker);
    t.match(response.json().errors, [{ index: 0, field: 'worker', message: /"\." or "\.\." \(a URL path cannot carry them\)/ }]);
  }
  // Sent over a socket as written (inject, like every URL parser, would remove the dot segments).
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  for (const path of ['/metrics/worker/.', '/metrics/worker/..', '/metrics/worker/%2E%2E/timeseries']) {
    const response = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port, path }, (answer) => {
        let body = '';
        answer.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        answer.on('end', () => resolve({ status: answer.statusCode, body }));
      }).on('error', reject);
    });
    t.equal(response.status, 400, path);
    t.match(JSON.parse(response.body), { status: 400, detail: /path parameter "name"/ });
  }
  const names = ['...', '.a', 'a.', '..b', '. .', '.\u00e9'];
  const sent = names.map((worker, i) => execution(worker, 30 + i));
  t.equal((await post(t, sent.map((s) => s.item))).statusCode, 201);
  for (const { item, row } of sent) {
    const url = new URL(`/metrics/worker/${encodeURIComponent(item.worker)}?hours=1`, 'http://service');
    t.equal(url.pathname, `/metrics/worker/${encodeURIComponent(item.worker)}`, `${item.worker}: a URL keeps the segment as it is`);
    const metrics = (await get(t, app, `${url.pathname}${url.search}`)).json();
    t.equal(metrics.worker, item.worker);
    t.equal(metrics.executions, oracle([row], 1, item.worker).executions);
  }
});

t.test('a body that is not UTF-8 is refused, never stored with U+FFFD', async (t) => {
  const checksum = await tableChecksum();
  const json = (worker: Buffer) =>
    Buffer.concat([Buffer.from('{"executions":[{"job_id":987001,"worker":"'), worker, Buffer.from('","state":"completed"}]}')]);
  const send = (contentType: string, body: Buffer) =>
    request(t, app, { method: 'POST', url: '/job-executions', headers: { ...auth, 'content-type': contentType }, payload: body });

  const invalid = await send('application/json', json(Buffer.from([0x70, 0xff, 0xfe])));
  t.equal(invalid.statusCode, 400, 'bytes that are not UTF-8');
  t.match(invalid.json(), { detail: /not valid UTF-8/ });
  for (const charset of ['iso-8859-1', 'utf-16', '"windows-1252"']) {
    const response = await send(`application/json; charset=${charset}`, json(Buffer.from([0x63, 0xe9])));
    t.equal(response.statusCode, 415, `charset=${charset}`);
    t.match(response.json(), { detail: /JSON is UTF-8/ });
  }
  t.equal(await tableChecksum(), checksum, 'nothing was written');

  for (const [n, contentType] of ['application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; charset=utf8'].entries()) {
    const body = Buffer.from(JSON.stringify({ executions: [{ job_id: 987010 + n, worker: 'Ingest.Café', state: 'completed' }] }));
    t.equal((await send(contentType, body)).statusCode, 201, contentType);
  }
  const stored = await db.pool.anyFirst(sql.type(z.object({ worker: z.string() }))`
    SELECT worker FROM job_execution_summaries WHERE job_id BETWEEN 987010 AND 987012`);
  t.same(stored, ['Ingest.Café', 'Ingest.Café', 'Ingest.Café'], 'UTF-8 in any spelling of the charset is stored as sent');
});

t.test('one bad item rejects the batch, naming each index and field', async (t) => {
  const worker = 'Ingest.Invalid';
  const good = () => execution(worker, 10).item;
  const nested = (depth: number): Record<string, Json> => (depth === 0 ? {} : { d: nested(depth - 1) });
  const inFuture = new Date(Date.now() + 6 * 60_000).toISOString();
  const cases: [string, Record<string, unknown>, string][] = [
    ['unknown state', { state: 'done' }, 'state'],
    ['empty worker', { worker: '' }, 'worker'],
    ['worker of 256 characters', { worker: 'w'.repeat(256) }, 'worker'],
    ['NUL in worker', { worker: 'a\u0000b' }, 'worker'],
    ['lone surrogate in worker', { worker: 'a\ud800b' }, 'worker'],
    ['worker "." (no URL path can carry it)', { worker: '.' }, 'worker'],
    ['worker ".."', { worker: '..' }, 'worker'],
    ['NUL in queue', { queue: '\u0000' }, 'queue'],
    ['negative duration', { duration_ms: -1 }, 'duration_ms'],
    ['fractional duration', { duration_ms: 1.5 }, 'duration_ms'],
    ['duration as a string (no coercion)', { duration_ms: '5' }, 'duration_ms'],
    ['job_id as a string', { job_id: '7' }, 'job_id'],
    ['job_id beyond 2^53', { job_id: 2 ** 53 }, 'job_id'],
    ['job_id missing', { job_id: undefined }, 'job_id'],
    ['attempt 0', { attempt: 0 }, 'attempt'],
    ['state in an array (no coercion)', { state: ['completed'] }, 'state'],
    ['inserted_at 6 minutes ahead', { inserted_at: inFuture }, 'inserted_at'],
    ['inserted_at without a zone', { inserted_at: '2026-11-25T10:00:00' }, 'inserted_at'],
    ['inserted_at not a date', { inserted_at: 'yesterday' }, 'inserted_at'],
    ['inserted_at on February 30', { inserted_at: '2026-02-30T10:00:00Z' }, 'inserted_at'],
    ['inserted_at in year 0', { inserted_at: '0000-01-01T00:00:00Z' }, 'inserted_at'],
    ['inserted_at offset +20:00', { inserted_at: '2026-11-25T10:00:00+20:00' }, 'inserted_at'],
    ['results a string', { results: 'cancelled' }, 'results'],
    ['results an array', { results: ['x'] }, 'results'],
    ['NUL in a results string', { results: { cancel_reason: 'a\u0000' } }, 'results'],
    ['NUL in a results key', { results: { 'k\u0000': 1 } }, 'results'],
    ['lone surrogate deep in results', { results: { a: [{ b: '\udc00' }] } }, 'results'],
    ['results nested too deep', { results: nested(65) }, 'results'],
    ['an unknown field', { duration: 5 }, 'duration'],
  ];
  const checksum = await tableChecksum();
  for (const [name, change, field] of cases) {
    const response = await post(t, [good(), { ...good(), ...change }, good()]);
    t.equal(response.statusCode, 400, name);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    const body = response.json();
    t.match(body, { status: 400, detail: new RegExp(`"${field}" of item 1 `) }, `${name}: detail names item 1 and ${field}`);
    t.same(body.errors.map((e: { index: number; field: string }) => [e.index, e.field]), [[1, field]], `${name}: errors`);
  }
  const notAnObject = await post(t, [good(), 'x']);
  t.same(notAnObject.json().errors, [{ index: 1, field: 'executions', message: 'must be object' }], 'an item that is not an object');
  const several = await post(t, [{ ...good(), state: 'x' }, good(), { ...good(), worker: '', duration_ms: -5 }]);
  t.same(
    several.json().errors.map((e: { index: number; field: string }) => `${e.index}.${e.field}`).sort(),
    ['0.state', '2.duration_ms', '2.worker'],
    'every bad item and field is listed once',
  );
  t.equal(await tableChecksum(), checksum, 'nothing from any rejected batch was written');

  for (const executions of [[], Array.from({ length: 1001 }, good), 'x']) {
    const response = await post(t, executions);
    t.equal(response.statusCode, 400, `executions ${Array.isArray(executions) ? `of ${executions.length}` : 'not an array'}`);
    t.match(response.json(), { detail: /executions/ });
  }
  const json = { ...auth, 'content-type': 'application/json' };
  const manyItems = await request(t, app, {
    method: 'POST', url: '/job-executions', headers: json, payload: `{"executions":[${Array(300_000).fill('{}').join(',')}]}`,
  });
  t.match(manyItems.json(), { status: 400, detail: /at most 1000 items \(got 300000\)/ }, 'a list too long is refused before its items are checked');
  t.ok(manyItems.body.length < 1_000, 'in a short answer');
  const unknownFields = `{${Array.from({ length: 100 }, (_, i) => `"k${i}":1`).join(',')}}`;
  const manyErrors = await request(t, app, {
    method: 'POST', url: '/job-executions', headers: json, payload: `{"executions":[${Array(1_000).fill(unknownFields).join(',')}]}`,
  });
  t.equal(manyErrors.json().errors.length, 1_000, 'at most 1,000 errors are listed');
  t.match(manyErrors.json().detail, /\(and 102999 more\)/, 'the detail counts them all');

  const ok = await post(t, [execution(worker, 10, { inserted_at: new Date(Date.now() + 4 * 60_000).toISOString() }).item]);
  t.equal(ok.statusCode, 201, '4 minutes ahead is within the allowed clock skew');
});

t.test('bad bodies are problem documents: invalid JSON 400, wrong type 415, over 1 MiB 413', async (t) => {
  const send = (payload: string, headers: Record<string, string>) =>
    request(t, app, { method: 'POST', url: '/job-executions', headers: { ...auth, ...headers }, payload });
  const json = { 'content-type': 'application/json' };
  const checksum = await tableChecksum();

  const cases: [string, string, Record<string, string>, number][] = [
    ['truncated JSON', '{"executions": [', json, 400],
    ['empty body', '', json, 400],
    ['a prototype key', '{"executions": [], "__proto__": {"x": 1}}', json, 400],
    ['text/plain', JSON.stringify({ executions: [execution('Ingest.Body', 1).item] }), { 'content-type': 'text/plain' }, 415],
    ['a form', 'executions=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ['over 1 MiB', JSON.stringify({ executions: [{ ...execution('Ingest.Body', 1).item, results: { pad: 'x'.repeat(1_048_576) } }] }), json, 413],
  ];
  for (const [name, payload, headers, status] of cases) {
    const response = await send(payload, headers);
    t.equal(response.statusCode, status, name);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', `${name}: problem+json`);
    t.match(response.json(), { status, type: /^tag:job-metrics/, detail: String }, name);
    t.notMatch(response.body, /at .*\.(ts|js):\d+|node_modules/, `${name}: no stack`);
  }
  t.equal(await tableChecksum(), checksum, 'nothing written');
  const bodies: [string, string, RegExp][] = [
    ['null', 'null', /^the request body must be a JSON object$/],
    ['an array', '[]', /^the request body must be a JSON object$/],
    ['a string', '"x"', /^the request body must be a JSON object$/],
    ['__proto__ in results', JSON.stringify({ executions: [{ ...execution('Ingest.Body', 1).item, results: {} }] }).replace('"results":{}', '"results":{"__proto__":{"admin":true}}'), /"__proto__".*prototype/],
    ['constructor.prototype', '{"executions": [], "constructor": {"prototype": {"x": 1}}}', /"constructor".*prototype/],
    ['invalid JSON', '{"executions": [', /not valid JSON/],
  ];
  for (const [name, payload, detail] of bodies) {
    const response = await send(payload, json);
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { status: 400, detail }, `${name}: the detail says why`);
    t.notMatch(response.json().detail, /body field "body field"/, `${name}: the body is named once`);
  }
  const allowed = await send(JSON.stringify({ executions: [{ ...execution('Ingest.Body', 1).item, results: { constructor: 'x', proto: 1 } }] }), json);
  t.equal(allowed.statusCode, 201, 'keys merely named constructor or proto are stored');
  const deep = await send(`{"executions": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`, json);
  t.ok(deep.statusCode === 400 || deep.statusCode === 413, `deeply nested JSON is a client error (${deep.statusCode})`);
});

t.test('20 clients posting overlapping batches at once store each pair exactly once', async (t) => {
  const worker = 'Ingest.Concurrent';
  const base = 10_000_000;
  const clients = 20;
  const batches = Array.from({ length: clients }, (_, c) => {
    const items = Array.from({ length: 200 }, (_, i) => ({ job_id: base + c * 40 + i, worker, state: 'completed' as const }));
    // Reversed or rotated orders: without a common lock order, overlapping inserts deadlock.
    return c % 2 === 0 ? items.reverse() : [...items.slice(c * 7), ...items.slice(0, c * 7)];
  });
  const distinct = new Set(batches.flat().map((item) => item.job_id)).size;
  const responses = await Promise.all(
    batches.map((executions) =>
      app.inject({ method: 'POST', url: '/job-executions', headers: auth, payload: { executions } }),
    ),
  );
  t.same(responses.map((r) => r.statusCode), Array(clients).fill(201), 'no 5xx, every batch accepted');
  const results = responses.map((r) => r.json<{ inserted: number; duplicates: number }>());
  t.equal(results.reduce((sum, r) => sum + r.inserted, 0), distinct, 'Σ inserted = distinct pairs');
  t.equal(results.reduce((sum, r) => sum + r.inserted + r.duplicates, 0), clients * 200, 'every item accounted for');
  const stored = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*) AS n FROM job_execution_summaries WHERE worker = ${worker}
  `);
  t.equal(stored, distinct, 'the table holds exactly the distinct pairs');
});

t.test('inserted_at is read as PostgreSQL reads it, in every RFC 3339 spelling', async (t) => {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const dateTime = fc
    .record({
      year: fc.integer({ min: 1, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
      separator: fc.constantFrom('T', 't', ' '),
      zone: fc.oneof(
        fc.constantFrom('Z', 'z'),
        fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 15 }), m: fc.integer({ min: 0, max: 59 }), colon: fc.constantFrom(':', '') }),
      ),
    })
    .map(({ year, month, day, hour, minute, second, fraction, separator, zone }) => {
      const offset = typeof zone === 'string' ? zone : `${zone.sign}${pad(zone.h)}${zone.colon}${pad(zone.m)}`;
      const time = `${pad(hour)}:${pad(minute)}:${pad(second)}${fraction === undefined ? '' : `.${fraction}`}`;
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}${separator}${time}${offset}`;
    });
  const samples = [...fc.sample(dateTime, { numRuns: 300, seed: 5 }), '2026-12-31T23:59:60Z', '2026-11-25T10:00:00+05'];
  const parsed = await db.pool.any(sql.type(z.object({ text: z.string(), ms: z.number() }))`
    SELECT text, floor(extract(epoch FROM text::timestamptz) * 1000)::float8 AS ms
    FROM unnest(${sql.array(samples, 'text')}) AS text
  `);
  for (const { text, ms } of parsed) {
    const ours = rfc3339Millis(text);
    // PostgreSQL rounds past microseconds, which can carry into the next millisecond.
    t.ok(ours !== null && Math.abs(ours - ms) <= 1, `${text}: ${ours} vs PostgreSQL ${ms}`);
  }
  t.equal(parsed.length, samples.length);

  // RFC 3339 allows offsets up to 23:59, PostgreSQL under 16:00: refused here, never a 500 there.
  for (const text of ['2026-11-25T10:00:00+16:00', '2026-11-25T10:00:00-2359']) {
    t.equal(rfc3339Millis(text), null, `${text} is refused`);
    await t.rejects(db.pool.query(sql.unsafe`SELECT ${text}::timestamptz`), `${text}: PostgreSQL refuses it too`);
  }
  t.not(rfc3339Millis('2026-11-25T10:00:00-15:59'), null, 'the largest offset PostgreSQL takes');
});

t.test('a deadlock with a plain-SQL writer is retried, not answered 500', async (t) => {
  // Another system takes the same keys in the other order inside its own transaction.
  const other = new pg.Client({ connectionString: db.url });
  await other.connect();
  t.teardown(() => other.end());
  const { rows } = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await other.query('BEGIN');
  await other.query(`INSERT INTO job_execution_summaries (job_id, worker, state) VALUES (20000002, 'Other', 'completed')`);
  const ingest = post(t, [20_000_001, 20_000_002].map((job_id) => ({ job_id, worker: 'Ingest.Deadlock', state: 'completed' })));
  // The ingest holds 20000001 and waits for 20000002: the other side's next insert closes the cycle.
  await waitUntilBlockedBy(db.pool, rows[0]!.pid);
  // Either side may be the one PostgreSQL aborts; the ingest must succeed in both cases.
  const otherOutcome = await other
    .query(`INSERT INTO job_execution_summaries (job_id, worker, state) VALUES (20000001, 'Other', 'completed')`)
    .then(() => other.query('COMMIT').then(() => 'committed'), () => other.query('ROLLBACK').then(() => 'aborted'));
  const response = await ingest;
  t.equal(response.statusCode, 201, `201 (the other writer ${otherOutcome})`);
  const { inserted, duplicates } = response.json();
  t.same([inserted, duplicates], otherOutcome === 'committed' ? [0, 2] : [2, 0], 'every pair stored exactly once');
  const stored = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*) AS n FROM job_execution_summaries WHERE job_id IN (20000001, 20000002)
  `);
  t.equal(stored, 2);
});
