/**
 * Debian's Chromium driven by playwright-core (`npx playwright install` cannot download
 * browsers here). `apt-get install -y chromium` provides /usr/bin/chromium; CHROMIUM_PATH
 * overrides the path.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get update && apt-get install -y chromium) or set CHROMIUM_PATH.`,
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A fresh context. tsx compiles functions passed to `page.evaluate` with esbuild's keepNames,
 * which calls a `__name` helper that pages do not have: define it as the identity.
 */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f);' });
  return context;
}
