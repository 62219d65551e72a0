/**
 * Debian's headless Chromium driven by playwright-core (test/README.md): installed by the
 * harness when missing, launched with the flags below and Playwright's own fresh, temporary
 * user-data directory, so no profile, cache or cookie survives from one run to the next.
 */
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianBinary } from './debianPackages.ts';

/** No GPU, no QUIC, nothing phoning home: the browser reaches only the test's loopback servers. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureDebianBinary(['chromium'], ['chromium']);
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}
