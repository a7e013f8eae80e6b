/// <reference lib="dom" />
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDashboardPage, withChromium } from './helpers/browser.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const READ_TOKEN = 'read-token-0123456789abcdef';

async function run() {
  const db = await startTestDatabase(t);
  await insertRows(db.pool, nastyRows());
  const app = await buildApp({ pool: db.pool, config: loadConfig({ READ_TOKEN }), shedLoad: false });
  const { base, page, errors } = await openDashboardPage(t, app);

  t.test('with READ_TOKEN set, the dashboard asks for the token and then shows the API numbers', async (t) => {
    await page.goto(`${base}/dashboard?hours=24`);
    await page.waitForSelector('#token-form:not([hidden])');
    t.match(await page.textContent('#problem-title'), /read token/);
    await page.fill('#token', 'wrong-token-0123456789');
    await page.click('#token-form button[type="submit"]');
    await page.waitForFunction(() => /not accepted/.test(document.getElementById('problem-detail')?.textContent ?? ''));
    t.ok(await page.isVisible('#token-form'), 'a wrong token is refused and the form stays');

    await page.fill('#token', READ_TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('html[data-ready][data-state="ready"]');
    const expected = (
      await app.inject({ url: '/metrics/system?hours=24', headers: { authorization: `Bearer ${READ_TOKEN}` } })
    ).json();
    t.equal(await page.getAttribute('[data-metric="executions"]', 'data-value'), String(expected.executions));
    t.equal(await page.getAttribute('[data-metric="cancelled"]', 'data-value'), String(expected.states.cancelled));
    t.ok(await page.isHidden('#token-form'), 'the form is gone once the token works');
    t.same(errors.filter((e) => !/401/.test(e)), [], 'no page errors (the 401s are the point)');
  });
}

await withChromium(t, 'the dashboard with READ_TOKEN in Chromium', run);
