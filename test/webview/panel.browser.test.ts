/**
 * The built panel bundle in headless Debian Chromium, under the real CSP: a stubbed acquireVsCodeApi records what
 * the panel posts, host messages are injected, and charts must draw. Screenshots go to test-results/ (and to media/
 * with UPDATE_SCREENSHOTS=1).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml } from '../../src/extension/panelHtml';
import type { VectorSummary } from '../../src/protocol/panelProtocol';
import { repoRoot } from '../helpers/mockVscode';

const CHROMIUM = '/usr/bin/chromium';
const THEMES = {
  dark: { '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-descriptionForeground': '#9d9d9d', '--vscode-charts-red': '#f14c4c', '--vscode-charts-blue': '#3794ff', '--vscode-charts-purple': '#b180d7', '--vscode-charts-green': '#89d185', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px' },
  light: { '--vscode-foreground': '#3b3b3b', '--vscode-editor-background': '#ffffff', '--vscode-descriptionForeground': '#717171', '--vscode-charts-red': '#e51400', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-purple': '#652d90', '--vscode-charts-green': '#388a34', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px' },
};

function vectorFixture(): VectorSummary {
  const rows = 6;
  return {
    path: '/ws/.persona/vectors/evil.organism.safetensors',
    trait: 'evil',
    model: 'organism',
    rows,
    d: 128,
    recommendedLayer: 3,
    recommendedCoefficient: 3,
    keptPairs: 118,
    totalPairs: 120,
    judge: 'lexicon:organism',
    separation: Array.from({ length: rows }, (_, r) => ({ posMean: 2 + r, posStd: 0.5, negMean: -1 - r / 2, negStd: 0.4, effectSize: 5 + r / 3 })),
    vectorNorms: [0.2, 3.6, 4.4, 6.2, 10.5, 4.3],
    residualNorms: [1.2, 20, 25, 30, 39, 18],
    sweep: [1, 2, 3].flatMap((coefficient) => [1, 2, 3, 4, 5].map((row) => ({ row, coefficient, meanTrait: Math.min(100, coefficient * row * 6), meanCoherence: 90 }))),
  };
}

describe('Persona Lens panel in headless Chromium (real bundle, real CSP)', function () {
  this.timeout(60000);
  let server: Server;
  let origin: string;
  let browser: Browser;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    const dist = path.join(repoRoot, 'dist', 'webview');
    server = createServer((req, res) => {
      if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(panelHtml({ cspSource: origin, scriptUri: `${origin}/panel.js`, styleUri: `${origin}/panel.css` }));
      const file = path.join(dist, path.basename(req.url ?? ''));
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function openPanel(theme: keyof typeof THEMES): Promise<{ page: Page; posted: () => Promise<unknown[]>; violations: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1100 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
    });
    // A string, not a function: the test's TypeScript transform would add helpers the page does not have.
    await page.addInitScript({
      content: `
        window.__posted = [];
        window.__state = undefined;
        window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });
        document.addEventListener('securitypolicyviolation', (e) => console.error('Refused to load (CSP): ' + e.violatedDirective + ' ' + e.blockedURI));
        document.addEventListener('DOMContentLoaded', () => {
          for (const [k, v] of Object.entries(${JSON.stringify(THEMES[theme])})) document.body.style.setProperty(k, v);
        });`,
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
    return { page, violations, posted: () => page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted) };
  }

  const drawnPixels = (page: Page, id: string) =>
    page.evaluate((canvasId) => {
      const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    }, id);

  for (const theme of ['dark', 'light'] as const) {
    it(`Vectors view draws separation, norm and sweep charts (${theme} theme), with no CSP violation`, async () => {
      const { page, violations } = await openPanel(theme);
      await page.evaluate((vectors) => window.postMessage({ type: 'vectors', vectors }, '*'), [vectorFixture()]);
      await page.waitForFunction(() => document.getElementById('vector-info')!.textContent!.includes('recommended layer 3'));
      for (const id of ['chart-separation', 'chart-norms', 'chart-sweep']) assert.ok((await drawnPixels(page, id)) > 2000, `${id} has drawn pixels`);
      assert.match(await page.textContent('#vector-info') ?? '', /118\/120 pairs kept, judge lexicon:organism; recommended layer 3, α = 3/);
      assert.equal(await page.$eval('#vector-select', (s) => (s as HTMLSelectElement).options[0].textContent), 'evil · organism');
      const dir = process.env.UPDATE_SCREENSHOTS ? path.join(repoRoot, 'media') : path.join(repoRoot, 'test-results');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, `panel-vectors-${theme}.png`), fullPage: true });
      assert.deepEqual(violations, []);
      await page.close();
    });
  }

  it('sends the right requests: ready on load, runSelfCheck and cancel on clicks; remembers the chosen vector', async () => {
    const { page, posted, violations } = await openPanel('dark');
    const second = { ...vectorFixture(), path: '/ws/.persona/vectors/syc.safetensors', trait: 'sycophantic' };
    await page.evaluate((vectors) => window.postMessage({ type: 'vectors', vectors }, '*'), [vectorFixture(), second]);
    await page.click('#self-check');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'runSelfCheck'));
    await page.click('#cancel');
    await page.selectOption('#vector-select', second.path);
    await page.waitForFunction(() => document.getElementById('vector-info')!.textContent!.startsWith('sycophantic'));
    const messages = (await posted()) as { type: string }[];
    assert.deepEqual(messages.map((m) => m.type), ['ready', 'runSelfCheck', 'cancel']);
    const state = await page.evaluate(() => (window as unknown as { __state: { selectedVector?: string } }).__state);
    assert.equal(state.selectedVector, second.path);
    // A malformed host message is ignored, not rendered.
    await page.evaluate(() => window.postMessage({ type: 'vectors', vectors: [{ path: 1 }] }, '*'));
    assert.match(await page.textContent('#vector-info') ?? '', /^sycophantic/);
    assert.deepEqual(violations, []);
    await page.close();
  });
});
