import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext } from 'playwright-core';

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
