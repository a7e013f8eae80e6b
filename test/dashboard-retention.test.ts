/// <reference lib="dom" />
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { pruneRawRows } from '../src/retention/prune.ts';
import { openDashboardPage, withChromium } from './helpers/browser.ts';
import { startTestDatabase } from './helpers/database.ts';
import { insertRows, type TestRow } from './helpers/rows.ts';

const DAY = 86_400;
const WORKER = 'Retained.Worker';
const REASON = 'quota "exceeded"';

/**
 * With RETENTION_DAYS=30 on rows up to 60 days old: the counts of a long window still hold the pruned
 * rows (from the rollups), and the page says where raw rows end, on the figures and in the drill-down.
 */
async function run() {
  const db = await startTestDatabase(t);
  const rows: TestRow[] = [];
  for (let i = 0; i < 30; i++) {
    const old = i < 20;
    rows.push({
      job_id: i + 1,
      worker: WORKER,
      state: i % 3 === 0 ? 'completed' : 'cancelled',
      results: i % 2 === 0 ? { cancel_reason: REASON } : undefined,
      duration_ms: 100 + i,
      age_s: old ? (40 + i) * DAY : 3600 * (i - 19),
    });
  }
  await insertRows(db.pool, rows);
  await foldPending(db.pool);
  const pruned = await pruneRawRows(db.pool, 30);

  const app = await buildApp({ pool: db.pool, config: loadConfig({ RETENTION_DAYS: '30', RETENTION_PRUNE_INTERVAL_MS: '0' }), shedLoad: false });
  const { base, page, errors } = await openDashboardPage(t, app);
  const ready = () => page.waitForSelector('html[data-ready][data-state="ready"]');
  const drillDone = () => page.waitForFunction(() => !/Loading/.test(document.getElementById('drill-status')?.textContent ?? ''));
  const cancelledWithReason = rows.filter((r) => r.state === 'cancelled' && r.results !== undefined);

  t.test('a window reaching before the horizon counts the pruned rows and says they were pruned', async (t) => {
    t.equal(pruned.rows, 20, 'the 20 rows older than 30 days are pruned');
    await page.goto(`${base}/dashboard?hours=8760&worker=${encodeURIComponent(WORKER)}`);
    await ready();
    t.equal(await page.getAttribute('[data-metric="executions"]', 'data-value'), String(rows.length), 'every row ever recorded');
    const cancelled = rows.filter((r) => r.state === 'cancelled').length;
    t.equal(await page.getAttribute('[data-metric="cancelled"]', 'data-value'), String(cancelled));
    const reason = page.locator('#reasons li[data-kind="reason"] .bar-count');
    t.equal(await reason.getAttribute('data-value'), String(cancelledWithReason.length), 'the reason keeps its pruned rows');
    t.match(await page.textContent('#window-range'), /Rows before .+ were pruned \(RETENTION_DAYS\): their counts come from the rollups/);

    await page.locator('#reasons li[data-kind="reason"] button').click();
    await drillDone();
    const kept = cancelledWithReason.filter((r) => r.age_s < 30 * DAY).length;
    t.equal(await page.locator('#drill-rows tr').count(), kept, 'the drill-down lists the rows still kept');
    t.match(await page.textContent('#drill-status'), /Executions before .+ were pruned and are not listed\./);
    await page.keyboard.press('Escape');
  });

  t.test('a window inside the horizon says nothing about pruning', async (t) => {
    await page.goto(`${base}/dashboard?hours=24&worker=${encodeURIComponent(WORKER)}`);
    await ready();
    t.equal(await page.getAttribute('[data-metric="executions"]', 'data-value'), '10');
    t.notMatch(await page.textContent('#window-range'), /pruned/);
    await page.locator('#reasons li[data-kind="reason"] button').click();
    await drillDone();
    t.notMatch(await page.textContent('#drill-status'), /pruned/);
    t.same(errors, [], 'no console errors');
  });
}

await withChromium(t, 'the dashboard after pruning in Chromium', run);
