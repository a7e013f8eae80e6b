import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startCommand } from '../bench/service.ts';
import { tracingRequested } from '../src/telemetry/tracing-requested.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

t.test('tracing starts only when the standard OTEL_* variables ask for it', async (t) => {
  t.equal(tracingRequested({}), false, 'nothing set: off');
  t.equal(tracingRequested({ OTEL_SERVICE_NAME: 'x' }), false, 'a service name alone sends nothing');
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' }), true);
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), false);
  t.equal(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), false);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), false, 'blank is unset');
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpExport['resourceSpans'][0]['scopeSpans'][0]['spans'][0]['attributes'] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP (JSON) receiver: every span posted to /v1/traces, with its scope and service name. */
async function startReceiver(t: { teardown(fn: () => Promise<void> | void): void }) {
  const spans: (OtlpSpan & { scope: string; service: string | undefined })[] = [];
  const read = async (request: IncomingMessage) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    return body;
  };
  const server = createServer(async (request, response) => {
    const body = await read(request);
    if (request.url === '/v1/traces') {
      for (const resource of (JSON.parse(body) as OtlpExport).resourceSpans) {
        const service = resource.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const scope of resource.scopeSpans) for (const span of scope.spans) spans.push({ ...span, scope: scope.scope.name, service });
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, spans };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('npm start with OTLP/HTTP export: the request span, its database child spans, and the trace id in its log lines', async (t) => {
  const db = await startTestDatabase(t);
  await insertRows(db.pool, nastyRows());
  const receiver = await startReceiver(t);
  const child = spawn(process.execPath, startCommand(), {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'job-metrics-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const base = await until('the service listening', () => /listening on (http:\/\/\S+)/.exec(output)?.[1], 120_000).catch((error: Error) => {
    throw new Error(`${error.message}:\n${output}`);
  });

  // The service sheds load with 503 while this busy machine stalls its event loop: ask until served.
  let attempt = 0;
  let requestId = '';
  for (let status = 0; status !== 200; attempt++) {
    requestId = `traced-request-${attempt}`;
    const response = await fetch(`${base}/metrics/worker/${encodeURIComponent('Mailer.Worker')}?hours=8760`, { headers: { 'x-request-id': requestId } });
    status = response.status;
    await response.arrayBuffer();
    if (status !== 200 && (status !== 503 || attempt > 600)) throw new Error(`answered ${status}`);
    if (status === 503) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const attribute = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;
  const status = (span: OtlpSpan) =>
    Number(span.attributes.find((a) => a.key === 'http.response.status_code' || a.key === 'http.status_code')?.value.intValue);
  const server = await until('the request span', () =>
    receiver.spans.find((s) => s.kind === 2 && (attribute(s, 'url.path') ?? attribute(s, 'http.target') ?? '').startsWith('/metrics/worker/') && status(s) === 200),
  );
  t.equal(server.service, 'job-metrics-under-test', 'OTEL_SERVICE_NAME names the service');
  const inTrace = () => receiver.spans.filter((s) => s.traceId === server.traceId);
  const queries = await until('database spans', () => {
    const found = inTrace().filter((s) => s.scope.includes('instrumentation-pg') && s.kind === 3);
    return found.length > 0 ? found : undefined;
  });
  const byId = new Map(inTrace().map((s) => [s.spanId, s]));
  const descendsFromServer = (span: OtlpSpan): boolean => {
    for (let at: OtlpSpan | undefined = span; at; at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined) {
      if (at.spanId === server.spanId) return true;
    }
    return false;
  };
  t.ok(queries.every(descendsFromServer), `${queries.length} database spans descend from the request span`);
  t.ok(queries.some((s) => attribute(s, 'db.system') === 'postgresql' || attribute(s, 'db.system.name') === 'postgresql'), 'they are PostgreSQL queries');
  t.ok(inTrace().some((s) => s.scope.includes('fastify')), "Fastify's request span is in the trace (@fastify/otel)");
  t.notOk(JSON.stringify(queries).includes('Mailer.Worker'), 'bound parameters (worker names) are not recorded');

  const lines = output.split('\n').filter((line) => line.includes(`"${requestId}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(lines.length >= 2, 'the request logged its lines');
  t.same(lines.filter((line) => line.trace_id !== server.traceId), [], "every log line of the request carries the request's trace id");

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a graceful stop flushes and exits 0');
});
