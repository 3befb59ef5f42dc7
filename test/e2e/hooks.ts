/**
 * Root hooks of the E2E run (.mocharc.e2e.json requires this file): a fresh user-data dir and scratch workspace,
 * code-server on a free port, headless Debian Chromium, and one workbench page shared by the test files in order
 * (one window = one extension host = one engine process). `npm run test:e2e` runs scripts/e2e/setup.mjs first.
 */
import { appendFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ensureSetupVector, paths, prepareRun, startCodeServer, type CodeServer } from '../../scripts/e2e/setup.mjs';
import { Workbench } from './workbench';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

let server: CodeServer | undefined;
let browser: Browser | undefined;
let workbench: Workbench | undefined;

/** The code-server of this run (available once the root before-all hook has run). */
export function codeServer(): CodeServer {
  if (!server) throw new Error('code-server is not running (root hook failed?)');
  return server;
}

/** The shared workbench page (available once the root before-all hook has run). */
export function wb(): Workbench {
  if (!workbench) throw new Error('the E2E workbench is not open (root hook failed?)');
  return workbench;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(240000);
    if (!existsSync(paths.codeServerMarker)) throw new Error('code-server is not installed: run `node scripts/e2e/setup.mjs` (npm run test:e2e does)');
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: node scripts/e2e/setup.mjs installs it`);
    prepareRun(ensureSetupVector());
    server = await startCodeServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const consoleLog = path.join(paths.logs, 'browser-console.log');
    page.on('console', (m) => appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => appendFileSync(consoleLog, `[pageerror] ${e.message}\n`));
    page.setDefaultTimeout(30000);
    workbench = new Workbench(page);
    await workbench.open(server.workspaceUrl);
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30000);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  },

  /** A screenshot of whatever the page shows when a test fails, beside the test's own screenshots. */
  async afterEach(this: Mocha.Context): Promise<void> {
    if (this.currentTest?.state === 'failed' && workbench) {
      const name = `failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
      const file = await workbench.screenshot(name).catch(() => undefined);
      if (file) process.stdout.write(`      screenshot: ${path.relative(process.cwd(), file)}\n`);
    }
  },
};
