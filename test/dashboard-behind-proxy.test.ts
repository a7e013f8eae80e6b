/// <reference lib="dom" />
import t from 'tap';
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.ts';
import { openPage, withChromium } from './helpers/browser.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

/** The path under which the proxy serves the service, as `location /job-metrics/ { proxy_pass http://service/; }` does. */
const PREFIX = '/ops/job-metrics';

/**
 * A reverse proxy that serves the service under PREFIX and strips it, like nginx or a Kubernetes
 * ingress with a rewrite. Anything asked outside PREFIX is a 404 here and is recorded: a page that
 * builds its URLs from the host's root would land there.
 */
async function startPrefixProxy(target: string) {
  const outside: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const url = incoming.url ?? '/';
    if (!url.startsWith(`${PREFIX}/`)) {
      outside.push(url);
      outgoing.writeHead(404, { 'content-type': 'text/plain' }).end('not behind the proxy');
      return;
    }
    const upstream = forward(new URL(url.slice(PREFIX.length), target), { method: incoming.method, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    upstream.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}${PREFIX}`, outside, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function run() {
  const db = await startTestDatabase(t);
  await insertRows(db.pool, nastyRows());
  const app = await buildApp({ pool: db.pool, shedLoad: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const proxy = await startPrefixProxy(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
  t.teardown(proxy.close);
  const { page, errors } = await openPage(t);
  const api = async (url: string) => (await app.inject({ method: 'GET', url })).json();
  const ready = () => page.waitForSelector('html[data-ready][data-state="ready"]');
  const shown = (metric: string) => page.getAttribute(`[data-metric="${metric}"]`, 'data-value');

  t.test('behind a proxy that serves it under a path, the dashboard asks only under that path', async (t) => {
    await page.goto(`${proxy.base}/`);
    t.equal(new URL(page.url()).pathname, `${PREFIX}/dashboard`, '/ redirects to the dashboard under the prefix');
    await ready();
    const system = await api('/metrics/system?hours=24');
    t.equal(await shown('executions'), String(system.executions), 'the system figures');
    t.equal(await shown('cancelled'), String(system.states.cancelled));
    t.ok(await page.locator('#chart canvas').count(), 'uPlot loaded and drew the chart');
    await page.waitForSelector('#workers[data-loaded]', { state: 'attached' });
    t.ok(await page.locator('#workers option').count(), 'the worker picker is filled');

    await page.fill('#worker', UNICODE_WORKER);
    await page.press('#worker', 'Enter');
    await page.waitForURL((url) => url.searchParams.get('worker') === UNICODE_WORKER);
    t.equal(new URL(page.url()).pathname, `${PREFIX}/dashboard`, 'switching worker stays under the prefix');
    await ready();
    const worker = await api(`/metrics/worker/${encodeURIComponent(UNICODE_WORKER)}?hours=24`);
    t.equal(await shown('executions'), String(worker.executions), 'the worker figures');

    await page.goto(`${proxy.base}/dashboard?hours=1&worker=${encodeURIComponent(SHOWTIME)}`);
    await ready();
    await page.locator('#reasons li[data-kind="unknown"] button').click();
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('drill-status')!.textContent ?? ''));
    t.ok(await page.locator('#drill-rows tr').count(), 'the drill-down lists executions');
    await page.keyboard.press('Escape');

    await page.click('footer a[href="docs/"]');
    await page.waitForURL(`${proxy.base}/docs/`);
    t.same(proxy.outside, [], 'no request left the prefix');
    t.same(errors.splice(0), [], 'no page errors');
  });

  t.test('the API docs work under the prefix, "Try it out" included', async (t) => {
    await page.goto(`${proxy.base}/docs`);
    t.equal(new URL(page.url()).pathname, `${PREFIX}/docs/`, '/docs redirects to /docs/, relatively');
    const operation = page.locator('[id^="operations-"][id$="-getSystemMetrics"]');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    const answer = page.waitForResponse((response) => new URL(response.url()).pathname === `${PREFIX}/metrics/system`);
    await operation.locator('button.execute').click();
    t.equal((await answer).status(), 200, 'the request went to the service under the prefix');
    await operation.locator('.live-responses-table tbody .response-col_status').first().waitFor();
    t.match(await operation.locator('.live-responses-table tbody .response-col_status').first().textContent(), /200/, 'and the UI shows its answer');
    t.same(proxy.outside, [], 'no request left the prefix');
    t.same(errors.splice(0), [], 'no page errors');
  });

  t.test('…/dashboard/ with a slash redirects to …/dashboard, keeping the view', async (t) => {
    await page.goto(`${proxy.base}/dashboard/?hours=1`);
    const url = new URL(page.url());
    t.equal(url.pathname, `${PREFIX}/dashboard`);
    t.equal(url.search, '?hours=1');
    await ready();
    t.equal(await shown('executions'), String((await api('/metrics/system?hours=1')).executions));
    t.same(proxy.outside, [], 'no request left the prefix');
  });
}

await withChromium(t, 'the dashboard behind a path-prefix proxy in Chromium', run);
