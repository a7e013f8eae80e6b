/**
 * Answers produced before a route runs — Node's parser refusing a request, the header size limit,
 * slow headers, a request during shutdown — over real sockets, since inject() skips Node's parser.
 */
import pWaitFor from 'p-wait-for';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { MAX_HEADER_BYTES } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeCursor } from '../src/executions/cursor.ts';
import { MAX_WORKER_LENGTH } from '../src/schemas/common.ts';
import { MAX_REASON_LENGTH } from '../src/schemas/execution-list.ts';
import { startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { connect, getRequest, rawRequest, type RawResponse } from './helpers/raw-http.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);

async function listening(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** An RFC 9457 document with the media type, the status line's status, and no framework JSON. */
function isProblem(t: Test, response: RawResponse, status: number, detail: RegExp) {
  t.equal(response.status, status, `status ${status}`);
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', `${status} is problem+json`);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  t.match(body, { type: /^tag:job-metrics,2026:problem:/, title: String, status, detail }, `${status} problem document`);
  t.notOk('error' in body || 'statusCode' in body, 'not Fastify\'s own error JSON');
}

const app = await startTestApp(t, db);
const port = await listening(app);

t.test('malformed framing is a 400 problem document, and the connection is closed', async (t) => {
  const post = (headers: string) => `POST /job-executions HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`;
  const cases: [string, string][] = [
    ['Content-Length: -1', post('Content-Length: -1\r\n')],
    ['two Content-Length headers', post('Content-Length: 2\r\nContent-Length: 3\r\n')],
    ['Content-Length with chunked', post('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n')],
    ['a header line without a colon', 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n'],
    ['not HTTP at all', 'HELLO\r\n\r\n'],
  ];
  for (const [name, bytes] of cases) {
    const response = await rawRequest(port, bytes);
    t.comment(`${name}: ${response.body}`);
    isProblem(t, response, 400, /not valid HTTP/);
    t.equal(response.headers.connection, 'close', `${name}: the connection is closed`);
  }
});

t.test('the longest request the spec allows is served; one character more is a 400, not a 431', async (t) => {
  // Every character a 4-byte code point: 12 bytes percent-encoded, the most a character can take.
  const reason = '🎬'.repeat(MAX_REASON_LENGTH);
  const worker = '🎬'.repeat(MAX_WORKER_LENGTH);
  await insertRows(db.pool, [
    { job_id: 1, worker, state: 'cancelled', results: { cancel_reason: reason }, duration_ms: 5, age_s: 60 },
  ]);
  const cursor = encodeCursor({ insertedAtUs: -210_866_803_200_000_000n, id: 2n ** 63n - 1n }).padEnd(100, 'A').slice(0, 100);
  const url = (text: string, page = encodeCursor({ insertedAtUs: 9n * 10n ** 17n, id: 2n ** 63n - 1n })) =>
    `/job-executions?hours=8760&worker=${encodeURIComponent(worker)}&state=cancelled` +
    `&reason=${encodeURIComponent(text)}&limit=500&cursor=${page}`;

  const longest = await rawRequest(port, getRequest(url(reason)));
  t.equal(longest.status, 200, `a ${url(reason).length}-byte URL is served`);
  const page = JSON.parse(longest.body) as { executions: { cancel_reason: string }[] };
  t.equal(page.executions.length, 1, 'and finds the row with that reason');
  t.equal(page.executions[0]?.cancel_reason, reason);

  const longestCursor = await rawRequest(port, getRequest(url(reason, cursor)));
  isProblem(t, longestCursor, 400, /cursor/);

  const onePast = await rawRequest(port, getRequest(url(`${reason}🎬`)));
  isProblem(t, onePast, 400, /reason/);
});

t.test('headers over the limit are a 431 problem document, exactly at the limit', async (t) => {
  // Node counts the URL and every header name and value against maxHeaderSize.
  const request = (counted: number) => {
    const fixed = '/health/live'.length + 'Host'.length + 'localhost'.length + 'X-Pad'.length;
    return getRequest('/health/live', { 'X-Pad': 'p'.repeat(counted - fixed) });
  };
  const under = await rawRequest(port, request(MAX_HEADER_BYTES - 1));
  t.equal(under.status, 200, `${MAX_HEADER_BYTES - 1} bytes of URL and headers are served`);
  const at = await rawRequest(port, request(MAX_HEADER_BYTES));
  isProblem(t, at, 431, /size limit/);
  const far = await rawRequest(port, getRequest('/health/live', { Cookie: 'c'.repeat(4 * MAX_HEADER_BYTES) }));
  isProblem(t, far, 431, /size limit/);
});

t.test('headers that never finish are a 408 problem document', async (t) => {
  const slow = await startTestApp(t, db, { server: { requestTimeout: 1_000, http: { headersTimeout: 300, connectionsCheckingInterval: 50 } } });
  const slowPort = await listening(slow);
  const response = await rawRequest(slowPort, 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Never: ');
  isProblem(t, response, 408, /time limit/);
});

t.test('closing: in-flight requests finish, a request on a kept-alive connection gets a 503 problem', async (t) => {
  const closing = await startTestApp(t, db);
  let release: () => void = () => {};
  let started = false;
  const held = new Promise<void>((resolve) => (release = resolve));
  closing.get('/test/held', async () => {
    started = true;
    await held;
    return { done: true };
  });
  const closingPort = await listening(closing);

  const kept = await connect(closingPort);
  kept.socket.write(getRequest('/health/live'));
  t.equal((await kept.next()).status, 200, 'a kept-alive connection, idle when closing begins');
  const busy = await connect(closingPort);
  const inFlight = busy.next();
  busy.socket.write(getRequest('/test/held'));
  await pWaitFor(() => started, { interval: 5 });

  const closed = closing.close();
  await pWaitFor(() => !closing.server.listening, { interval: 5 });

  kept.socket.write(getRequest('/health/live'));
  const refused = await kept.next();
  isProblem(t, refused, 503, /shutting down/);
  t.equal(refused.headers['retry-after'], '5');
  t.equal(refused.headers.connection, 'close');
  await kept.closed;
  t.pass('the kept-alive connection is closed after its answer');

  await t.rejects(connect(closingPort), { code: 'ECONNREFUSED' }, 'new connections are refused');

  release();
  const finished = await inFlight;
  t.equal(finished.status, 200, 'the request in flight when closing began is answered');
  t.same(JSON.parse(finished.body), { done: true });
  t.equal(finished.headers.connection, 'close', 'with Connection: close');
  await closed;
});

t.test('requests Node would answer itself get problem documents too', async (t) => {
  const connectAnswer = await rawRequest(port, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
  isProblem(t, connectAnswer, 405, /not a proxy/);
  t.equal(connectAnswer.headers.allow, 'GET, HEAD, POST, OPTIONS', 'a 405 says what is allowed');

  const expectation = await rawRequest(port, getRequest('/metrics/system', { Expect: 'something-else' }));
  isProblem(t, expectation, 417, /100-continue/);

  const noHost = await rawRequest(port, 'GET /health/live HTTP/1.1\r\n\r\n');
  isProblem(t, noHost, 400, /Host header/);
  const asterisk = await rawRequest(port, 'OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n');
  t.equal(asterisk.status, 204, 'OPTIONS * asks about the server');
  t.equal(asterisk.headers.allow, 'GET, HEAD, POST, OPTIONS');
  isProblem(t, await rawRequest(port, 'GET * HTTP/1.1\r\nHost: localhost\r\n\r\n'), 400, /OPTIONS only/);
  const http10 = await rawRequest(port, 'GET /health/live HTTP/1.0\r\n\r\n');
  t.equal(http10.status, 200, 'HTTP/1.0 needs no Host');
});

t.test('a framing error in the body of a request already answered closes the connection without a second answer', async (t) => {
  const connection = await connect(port);
  const first = connection.next();
  const second = connection.next();
  // A GET is answered without reading its body; the chunk then runs past its declared size.
  connection.socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n');
  t.equal((await first).status, 200);
  await t.rejects(second, /closed without/, 'no unasked-for 400 follows');
  await connection.closed;
});

t.test('a slow upload is not blamed on the database', async (t) => {
  const config = loadConfig({ INGEST_TOKEN: 'ingest-token-0123456789abcdef', STATEMENT_TIMEOUT_MS: '100', POOL_TIMEOUT_MS: '100' });
  const slowUpload = await startTestApp(t, db, { config });
  const slowPort = await listening(slowUpload);
  const body = JSON.stringify({ executions: [{ job_id: 4242, worker: 'Slow.Upload', state: 'completed' }] });
  const connection = await connect(slowPort);
  const answer = connection.next();
  connection.socket.write(
    'POST /job-executions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ingest-token-0123456789abcdef\r\n' +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  );
  // Three times the deadline (pool wait + statement timeout + 1 s) passes before the rest arrives.
  await new Promise((resolve) => setTimeout(resolve, 3 * 1_200));
  connection.socket.write(body.slice(10));
  const response = await answer;
  t.equal(response.status, 201, 'the batch is stored once it has arrived');
  connection.socket.destroy();
});

t.test('static files: a Range past the end is 416, a failed precondition 412, a missing file 404', async (t) => {
  const range = await rawRequest(port, getRequest('/dashboard', { Range: 'bytes=999999-' }));
  isProblem(t, range, 416, /./);
  t.match(range.headers['content-range'], /^bytes \*\/\d+$/, 'Content-Range names the size');
  isProblem(t, await rawRequest(port, getRequest('/dashboard/dashboard.js', { 'If-Match': '"x"' })), 412, /./);
  isProblem(t, await rawRequest(port, getRequest('/dashboard/dashboard.js', { 'If-Unmodified-Since': 'Sun, 03 Dec 2000 21:09:10 GMT' })), 412, /./);
  for (const path of ['/docs/static/nope.js', '/docs/static/../../package.json', '/dashboard/vendor/nope.js']) {
    isProblem(t, await rawRequest(port, getRequest(path)), 404, /./);
  }
});
