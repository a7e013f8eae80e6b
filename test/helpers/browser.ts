import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
