/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import t, { type Test } from 'tap';
import { mkdir } from 'node:fs/promises';
import { sql } from 'slonik';
import type { Page } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { accessibilityViolations, openDashboardPage, withChromium } from './helpers/browser.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows, type TestRow } from './helpers/rows.ts';


/** A name and a reason that would run script if the page ever put data into innerHTML. */
const HOSTILE_WORKER = '<img src=x onerror="window.__xss=1"> "Worker" \'q\'';
const HOSTILE_REASON = '<script>window.__xss=2</script><b>bold</b>';
const ARTIFACTS = new URL('./artifacts/', import.meta.url);
const BIG_IDS = 'Big.Job.Ids.Worker';

interface Metrics {
  executions: number;
  success_rate: number | null;
  states: Record<string, number>;
  cancellations: { total: number; unknown: number; by_reason: { reason: string; count: number }[] };
  duration_ms: Record<string, number> | null;
}

async function run() {
  const db = await startTestDatabase(t);
  const extra: TestRow[] = [
    { job_id: 900_001, worker: HOSTILE_WORKER, state: 'cancelled', results: { cancel_reason: HOSTILE_REASON }, age_s: 90, duration_ms: 1234 },
    { job_id: 900_002, worker: HOSTILE_WORKER, state: 'completed', age_s: 95, duration_ms: 65_000 },
  ];
  // More reasons than the page lists (LISTED_REASONS, 50): 53, one to three executions each.
  const MANY = 'Many.Reasons.Worker';
  for (let i = 0; i < 53; i++) {
    for (let k = 0; k <= i % 3; k++) {
      extra.push({ job_id: 910_000 + i * 10 + k, worker: MANY, state: 'cancelled', results: { cancel_reason: `order ${i} gone` }, age_s: 600 + i, duration_ms: 5 });
    }
  }
  await insertRows(db.pool, [...nastyRows(), ...extra]);

  // A job system numbering its jobs past 2^53 (plain SQL; ingest stops at 2^53 − 1).
  await db.pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms, inserted_at)
    VALUES (4611686018427387905, ${BIG_IDS}, 'cancelled', 7, now() - interval '20 minutes')`);

  const app = await buildApp({ pool: db.pool, shedLoad: false });
  const { base, page, errors } = await openDashboardPage(t, app);
  await mkdir(ARTIFACTS, { recursive: true });
  const api = async <T = Metrics>(url: string) => (await app.inject({ method: 'GET', url })).json<T>();

  t.test('/ redirects to the dashboard, which shows the API numbers for the system', async (t) => {
    const response = await page.goto(`${base}/`);
    t.equal(new URL(page.url()).pathname, '/dashboard');
    const csp = (await response!.allHeaders())['content-security-policy'] ?? '';
    t.match(csp, /default-src 'self'/, 'served under the strict CSP');
    t.notMatch(csp, /unsafe-inline/, 'with no inline script or style allowed');
    await ready(page);
    await checkFigures(t, page, await api('/metrics/system?hours=24'));
    t.match(await page.textContent('#summary-title'), /System/);
    const { points } = await api<{ points: unknown[] }>('/metrics/system/timeseries?hours=24');
    await page.click('#series-details summary');
    // The table is built when it is opened: wait for it, then compare.
    await page
      .waitForFunction((n) => document.querySelectorAll('#series-table tbody tr').length === n, points.length)
      .catch(() => {});
    t.equal(await page.locator('#series-table tbody tr').count(), points.length, 'one table row per time bucket');
    const cells = await page.$$eval('#series-table tbody tr:last-child td', (tds) => tds.map((td) => td.textContent));
    const last = points.at(-1) as { executions: number; states: { cancelled: number }; unknown: number };
    t.same(cells.slice(1), [last.executions, last.states.cancelled, last.unknown].map((n) => n.toLocaleString('en-US')), 'the newest bucket');
    t.ok(await page.locator('#chart canvas').count(), 'the time chart is drawn');
    t.equal(await page.getAttribute('#w24', 'checked'), null, 'state lives in properties, not markup');
    t.ok(await page.isChecked('#w24'), 'the 24 h window is selected');
  });

  t.test('Unknown is its own category, apart from a literal "unknown" reason', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(SHOWTIME)}`);
    await ready(page);
    const metrics = await api(`/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=1`);
    await checkFigures(t, page, metrics);
    const unknown = page.locator('#reasons li[data-kind="unknown"]');
    t.equal(await unknown.locator('.bar-text').textContent(), 'Unknown');
    t.equal(await unknown.locator('.bar-count').getAttribute('data-value'), String(metrics.cancellations.unknown));
    t.equal(metrics.cancellations.unknown, 6, 'the fixture has six NULL reasons');
    const literal = page.locator('#reasons li[data-kind="reason"][data-reason="unknown"]');
    t.equal(await literal.locator('.bar-text').textContent(), '“unknown”', 'the literal reason is quoted');
    t.equal(await literal.locator('.bar-count').textContent(), '1');
    const shown = await page.$$eval('#reasons li[data-kind="reason"]', (items) =>
      items.map((li) => ({ reason: (li as HTMLElement).dataset.reason, count: Number((li.querySelector('.bar-count') as HTMLElement).dataset.value) })),
    );
    t.same(shown, metrics.cancellations.by_reason, 'every reason, in the API order, with its count');
  });

  t.test('the window and the worker switch, from the keyboard too, and live in the URL', async (t) => {
    await page.goto(`${base}/dashboard`);
    await ready(page);
    await page.focus('#w24');
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/hours=168/);
    await ready(page);
    await checkFigures(t, page, await api('/metrics/system?hours=168'));

    await page.check('#wcustom');
    await page.fill('#hours', '2');
    await page.press('#hours', 'Enter');
    await page.waitForURL(/hours=2(&|$)/);
    await ready(page);
    await checkFigures(t, page, await api('/metrics/system?hours=2'));

    await page.waitForSelector('#workers[data-loaded]', { state: 'attached' });
    const options = await page.$$eval('#workers option', (list) => list.map((o) => (o as HTMLOptionElement).value));
    t.same(options, (await api<{ workers: { worker: string }[] }>('/metrics/workers')).workers.map((w) => w.worker), 'picker fed by /metrics/workers');
    await page.fill('#worker', UNICODE_WORKER);
    await page.press('#worker', 'Enter');
    await page.waitForURL((url) => url.searchParams.get('worker') === UNICODE_WORKER);
    await ready(page);
    t.equal(await page.textContent('#summary-title'), `Worker ${UNICODE_WORKER}`);
    const metrics = await api(`/metrics/worker/${encodeURIComponent(UNICODE_WORKER)}?hours=2`);
    await checkFigures(t, page, metrics);

    const shared = page.url();
    await page.goto('about:blank');
    await page.goto(shared);
    await ready(page);
    t.equal(await page.inputValue('#worker'), UNICODE_WORKER, 'a shared URL restores the worker');
    t.equal(await page.inputValue('#hours'), '2', 'and the window');
    await page.goBack();
    await page.goto(shared);
    await page.click('#all-workers');
    await page.waitForURL((url) => !url.searchParams.has('worker'));
    await ready(page);
    t.match(await page.textContent('#summary-title'), /System/);
  });

  t.test('past 50 reasons, the page lists the largest 50 and sums the rest in one bar', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(MANY)}`);
    await ready(page);
    const every = (await api(`/metrics/worker/${encodeURIComponent(MANY)}?hours=1`)).cancellations.by_reason;
    t.equal(every.length, 53, 'the API without ?reasons lists every reason');
    const shown = await page.$$eval('#reasons li[data-kind="reason"]', (items) =>
      items.map((li) => ({ reason: (li as HTMLElement).dataset.reason, count: Number((li.querySelector('.bar-count') as HTMLElement).dataset.value) })),
    );
    t.same(shown, every.slice(0, 50), 'the largest 50, in the API order');
    const other = page.locator('#reasons li[data-kind="other"]');
    t.equal(await other.locator('.bar-text').textContent(), '3 other reasons');
    t.equal(
      Number(await other.locator('.bar-count').getAttribute('data-value')),
      every.slice(50).reduce((sum, r) => sum + r.count, 0),
      'counting the executions of the three left out',
    );
    t.equal(await other.locator('button').count(), 0, 'nothing to open behind it');
  });

  t.test('hostile names and reasons are shown as text', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(HOSTILE_WORKER)}`);
    await ready(page);
    t.equal(await page.textContent('#summary-title'), `Worker ${HOSTILE_WORKER}`);
    t.equal(await page.locator('#reasons li[data-kind="reason"] .bar-text').textContent(), `“${HOSTILE_REASON}”`);
    t.equal(await page.locator('main img, main b, main script').count(), 0, 'no element was made from data');
    t.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined, 'nothing ran');
    t.equal(await page.textContent('[data-metric="max"]'), '1.1 min', 'durations are formatted for reading');
    t.equal(await page.getAttribute('[data-metric="max"]', 'data-value'), '65000');
  });

  t.test('no JavaScript or CSP error on the way, and a screenshot', async (t) => {
    await page.goto(`${base}/dashboard?hours=24&worker=${encodeURIComponent(SHOWTIME)}`);
    await ready(page);
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });
    await page.setViewportSize({ width: 380, height: 800 });
    // The chart follows the width from a ResizeObserver, whose callbacks run while the next frame
    // is rendered: measure once the frame after that one starts.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { overflow, wide } = await page.evaluate(() => {
      const { scrollWidth, clientWidth } = document.documentElement;
      const wide = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > clientWidth + 1)
        .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
      return { overflow: scrollWidth - clientWidth, wide };
    });
    t.equal(overflow, 0, `readable on a narrow screen: no horizontal scrolling (wider than the viewport: ${wide.join(' ') || 'none'})`);
    await page.screenshot({ path: new URL('dashboard-narrow.png', ARTIFACTS).pathname, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    t.same(errors.splice(0), [], 'no console errors or warnings');
  });

  t.test('no WCAG 2.2 AA violation that axe-core finds, in every state of the page', async (t) => {
    await page.goto(`${base}/dashboard?hours=24`);
    await ready(page);
    t.same(await accessibilityViolations(page), [], 'the system view');
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(SHOWTIME)}`);
    await ready(page);
    await page.click('#series-details summary');
    await page.locator('#reasons li[data-kind="unknown"] button').click();
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('drill-status')!.textContent ?? ''));
    t.same(await accessibilityViolations(page), [], 'a worker, its executions listed and the table open');
    await page.setViewportSize({ width: 380, height: 800 });
    t.same(await accessibilityViolations(page), [], 'the same on a narrow screen');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${base}/dashboard?worker=Never.Seen`);
    await ready(page, 'error');
    t.same(await accessibilityViolations(page), [], 'the unknown-worker error');
    t.same(errors.splice(0).filter((e) => !/404/.test(e)), [], 'no console errors but the 404 itself');
  });

  t.test('drill-down lists the executions behind a reason and behind Unknown', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(SHOWTIME)}`);
    await ready(page);
    await page.locator('#reasons li[data-kind="unknown"] button').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('drill-status')!.textContent ?? ''));
    t.match(await page.textContent('#drill-title'), /no reason recorded/);
    await page.keyboard.press('Escape');
    t.ok(await page.isHidden('#drill'), 'Escape closes the list');
    t.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.kind), 'unknown', 'and gives focus back');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('drill-status')!.textContent ?? ''));
    const listing = await api<{ executions: { id: number }[] }>(
      `/job-executions?hours=1&worker=${encodeURIComponent(SHOWTIME)}&state=cancelled&unknown=true&limit=50`,
    );
    t.equal(await page.locator('#drill-rows tr').count(), listing.executions.length, 'one row per listed execution');
    t.equal(listing.executions.length, 6);
    t.same(await page.$$eval('#drill-rows tr td:nth-child(5)', (cells) => cells.map((c) => c.textContent)), Array(6).fill('Unknown'));
    await page.locator('#drill').screenshot({ path: new URL('dashboard-drill.png', ARTIFACTS).pathname });

    await page.locator('#reasons li[data-kind="reason"][data-reason="unknown"] button').click();
    await page.waitForFunction(() => document.querySelectorAll('#drill-rows tr').length === 1);
    t.equal(await page.textContent('#drill-rows tr td:nth-child(5)'), '“unknown”', 'the literal reason lists its own row');
    t.same(errors.splice(0), [], 'no console errors');
  });

  t.test('a job id past 2^53 is shown with the digits the row holds', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=${encodeURIComponent(BIG_IDS)}`);
    await ready(page);
    await page.locator('#reasons li[data-kind="unknown"] button').click();
    await page.waitForFunction(() => document.querySelectorAll('#drill-rows tr').length === 1);
    t.equal(await page.textContent('#drill-rows tr td:nth-child(3)'), '4611686018427387905 / 1', 'not 4611686018427388000');
  });

  t.test('a chart library that fails to load once is fetched again by Retry', async (t) => {
    // As when the service sheds load (503) just as the page asks for uPlot.
    await page.route('**/dashboard/vendor/uPlot.esm.js', (route) => route.fulfill({ status: 503, body: '' }));
    await page.goto(`${base}/dashboard?hours=24`);
    await ready(page, 'error');
    t.equal(await page.textContent('#problem-title'), 'The chart library did not load');
    await page.unroute('**/dashboard/vendor/uPlot.esm.js');
    await page.click('#retry');
    await ready(page);
    t.ok(await page.locator('#chart canvas').count(), 'the chart is drawn without reloading the page');
    t.same(errors.splice(0).filter((e) => !/503|Failed to fetch dynamically imported module/.test(e)), [], 'no other error');
  });

  t.test('empty, unknown-worker and API-down states are visible', async (t) => {
    await page.goto(`${base}/dashboard?hours=1&worker=Idle.Worker`);
    await ready(page);
    t.match(await page.textContent('#empty'), /No executions/);
    t.ok(await page.isVisible('#empty'), 'the empty window says so');
    t.ok(await page.isVisible('#reasons-empty'));

    await page.goto(`${base}/dashboard?worker=Never.Seen`);
    await ready(page, 'error');
    t.equal(await page.textContent('#problem-title'), 'Unknown worker');
    t.ok(await page.isVisible('#problem-home'), 'offers the system view');

    await page.route('**/metrics/**', (route) => route.abort());
    await page.goto(`${base}/dashboard`);
    await ready(page, 'error');
    t.match(await page.textContent('#problem-title'), /not reachable/);
    await page.unroute('**/metrics/**');
    await page.click('#retry');
    await ready(page);
    t.ok(await page.isHidden('#problem'), 'Retry recovers');

    await db.stopServer();
    await page.reload();
    await ready(page, 'error');
    t.match(await page.textContent('#problem-title'), /unavailable \(503/);
    t.match(await page.textContent('#problem-detail'), /not answering.*\. Retrying automatically in \d+ s\./);
    await page.screenshot({ path: new URL('dashboard-503.png', ARTIFACTS).pathname });
    const unexpected = errors.splice(0).filter((e) => !/Failed to load resource|ERR_FAILED/.test(e));
    t.same(unexpected, [], 'only the failed requests themselves are logged');
  });
}

async function ready(page: Page, state = 'ready') {
  await page.waitForSelector(`html[data-ready][data-state="${state}"]`);
}

async function checkFigures(t: Test, page: Page, metrics: Metrics) {
  const shown = await page.$$eval('[data-metric]', (nodes) =>
    Object.fromEntries(nodes.map((n) => [(n as HTMLElement).dataset.metric, { text: n.textContent, value: (n as HTMLElement).dataset.value }])),
  );
  const count = (n: number) => n.toLocaleString('en-US');
  t.same(shown.executions, { text: count(metrics.executions), value: String(metrics.executions) }, 'executions');
  for (const [state, n] of Object.entries(metrics.states)) t.same(shown[state], { text: count(n), value: String(n) }, state);
  const rate = metrics.success_rate;
  t.equal(shown.success_rate?.value, rate === null ? '' : String(rate), 'success rate, unrounded in data-value');
  if (rate !== null && rate > 0.001 && rate < 0.999) t.equal(shown.success_rate?.text, `${(rate * 100).toFixed(1)}%`);
  for (const key of ['avg', 'p50', 'p95', 'p99', 'max']) {
    const value = metrics.duration_ms?.[key];
    t.equal(shown[key]?.value, value === undefined ? '' : String(value), `duration ${key}`);
  }
  if (metrics.cancellations.total > 0) {
    const unknown = await page.locator('#reasons li[data-kind="unknown"] .bar-count').getAttribute('data-value');
    t.equal(unknown, String(metrics.cancellations.unknown), 'the Unknown count');
  }
}

await withChromium(t, 'the dashboard in Chromium', run);
