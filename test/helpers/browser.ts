import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumMissing = () =>
  existsSync(CHROMIUM_PATH) ? false : `${CHROMIUM_PATH} is missing: run apt-get update && apt-get install -y chromium`;

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Debian's Chromium on a fresh profile (launchPersistentContext owns --user-data-dir); closed by the caller. */
export async function launchChromium(options: { width?: number; height?: number } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'job-metrics-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    locale: 'en-US',
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * The app listening on loopback and a Chromium page on it, both closed with the test; `errors`
 * collects page errors and console errors or warnings. Waits keep Playwright's 30 s default: it
 * only ends a broken test (Chromium beside the suite on 2 cores can take seconds), never a speed goal.
 */
export async function openDashboardPage(t: Teardown, app: FastifyInstance) {
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { base, ...(await openPage(t)) };
}

/** A Chromium page, closed with the test, and the page and console errors it logs. */
export async function openPage(t: Teardown) {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(`console ${message.type()}: ${message.text()}`);
  });
  return { page, errors };
}

interface Skippable {
  comment(message: string): void;
  test(name: string, options: { skip: string }, fn: () => Promise<void>): unknown;
}

/** Runs a browser test file, or, without Chromium, skips it with a message naming the install command. */
export async function withChromium(t: Skippable, name: string, run: () => Promise<void>): Promise<void> {
  const missing = chromiumMissing();
  if (!missing) return run();
  t.comment(`skipping ${name}: ${missing}`);
  t.test(name, { skip: missing }, async () => {});
}

const AXE_SOURCE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
/** WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * What axe-core finds on the page as it is now, one line per rule and element. The script is
 * evaluated through the DevTools protocol, which the page's CSP does not govern, so the page is
 * checked under its real policy.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: tags });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }, AXE_TAGS);
  return violations;
}
