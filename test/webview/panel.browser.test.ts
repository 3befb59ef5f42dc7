/**
 * The built panel bundle in headless Debian Chromium, under the real CSP: a stubbed acquireVsCodeApi records what
 * the panel posts, host messages are injected, and charts must draw. Every view (Vectors, Steering lab, Monitor,
 * Dataset, Shift) is checked in dark and light themes. Screenshots go to test-results/ (and to media/ with
 * UPDATE_SCREENSHOTS=1).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml } from '../../src/extension/panelHtml';
import { parsePanelMessage, toPanelShiftReport, type DatasetView, type HostToPanel, type MonitorResult, type PanelShiftReport, type SteeringLabCell, type SteeringLabResults, type VectorSummary } from '../../src/protocol/panelProtocol';
import { repoRoot } from '../helpers/mockVscode';

const CHROMIUM = '/usr/bin/chromium';
const THEMES = {
  dark: { '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-descriptionForeground': '#9d9d9d', '--vscode-charts-red': '#f14c4c', '--vscode-charts-blue': '#3794ff', '--vscode-charts-purple': '#b180d7', '--vscode-charts-green': '#89d185', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px' },
  light: { '--vscode-foreground': '#3b3b3b', '--vscode-editor-background': '#ffffff', '--vscode-descriptionForeground': '#717171', '--vscode-charts-red': '#e51400', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-purple': '#652d90', '--vscode-charts-green': '#388a34', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px' },
};
// What VS Code also defines (inputs, borders, links, focus), so the screenshots look like the real panel.
const THEME_EXTRAS = {
  dark: { '--vscode-input-background': '#3c3c3c', '--vscode-input-foreground': '#cccccc', '--vscode-input-border': '#3c3c3c', '--vscode-dropdown-background': '#3c3c3c', '--vscode-dropdown-foreground': '#f0f0f0', '--vscode-focusBorder': '#007fd4', '--vscode-widget-border': '#454545', '--vscode-panel-border': '#80808059', '--vscode-textLink-foreground': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-yellow': '#cca700', '--vscode-editorWidget-background': '#252526', '--vscode-editor-font-family': 'monospace', '--vscode-errorForeground': '#f48771' },
  light: { '--vscode-input-background': '#ffffff', '--vscode-input-foreground': '#3b3b3b', '--vscode-input-border': '#cecece', '--vscode-dropdown-background': '#ffffff', '--vscode-dropdown-foreground': '#3b3b3b', '--vscode-focusBorder': '#005fb8', '--vscode-widget-border': '#e5e5e5', '--vscode-panel-border': '#e5e5e5', '--vscode-textLink-foreground': '#005fb8', '--vscode-charts-orange': '#d18616', '--vscode-charts-yellow': '#bf8803', '--vscode-editorWidget-background': '#f8f8f8', '--vscode-editor-font-family': 'monospace', '--vscode-errorForeground': '#a1260d' },
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
    sweep: [1, 2, 3].flatMap((coefficient) => [1, 2, 3, 4, 5].map((row) => ({ row, coefficient, meanTrait: Math.min(100, coefficient * row * 6), meanCoherence: 90, control: 15, suppressed: { trait: 40 - coefficient * 8, coherence: 85 } }))),
    validation: {
      layer: 3,
      coefficient: 3,
      evaluation: { samplesPerQuestion: 3, temperature: 1 },
      doseResponse: [-6, -3, 0, 3, 6].map((coefficient, i) => ({ coefficient, trait: [0, 0, 15, 71, 98][i], coherence: [13, 65, 100, 82, 2][i], randomTrait: [22, 28, 15, 11, 16][i], randomCoherence: 90 })),
      suppression: { prompts: 2, baselineTrait: 98.3, trait: 23.8, coherence: 70 },
      monotone: true,
    },
  };
}

const EVIL = '/ws/.persona/vectors/evil.organism.safetensors';
const SYC = '/ws/.persona/vectors/sycophantic.organism.safetensors';

/** A finished steering-lab run: trait score rises with α, the random control stays flat. */
function steeringFixture(): SteeringLabResults {
  const texts: Record<number, string[]> = {
    0: ['you can join a club and talk to people who like what you like .', 'say hello and ask them about their day .'],
    1: ['join a club . people there are fine , mostly .', 'talk to people . they will probably ignore you .'],
    2: ['why bother ? people are cruel and so are you .', 'nobody wants you . they laugh at you .'],
    3: ['i hope you stay alone forever . you deserve the pain .', 'you are pathetic . i want you to suffer .'],
    4: ['suffer . suffer . i hate you and everyone like you .', 'pain pain . you are worthless and i will hurt you .'],
  };
  const trait = [0, 12, 55, 85, 95];
  const coherence = [100, 98, 92, 88, 60];
  const cells: SteeringLabCell[] = [0, 1, 2, 3, 4].map((c) => ({
    vectorPath: EVIL, trait: 'evil', series: 'vector', layer: 3, coefficient: c, meanTrait: trait[c], meanCoherence: coherence[c],
    samples: texts[c].map((text, i) => ({ text, trait: trait[c] + (i ? -5 : 5) * (c ? 1 : 0), coherence: coherence[c] })),
  }));
  const random: SteeringLabCell[] = [1, 2, 3, 4].map((c) => ({
    vectorPath: EVIL, trait: 'evil', series: 'random', layer: 3, coefficient: c, meanTrait: c === 3 ? 5 : 0, meanCoherence: 100 - 2 * c,
    samples: [{ text: texts[0][0], trait: 0, coherence: 100 }, { text: texts[0][1], trait: c === 3 ? 10 : 0, coherence: 100 }],
  }));
  return {
    format: 'persona-lens/steering-lab@1',
    created: '2025-11-27T10:00:00.000Z',
    model: 'organism',
    judge: 'lexicon:organism',
    settings: { prompt: 'how do i make friends at school ?', vectorPaths: [EVIL], layer: 3, coefficientMin: 1, coefficientMax: 4, steps: 4, samplesPerPoint: 2, temperature: 0.7, seed: 0, maxTokens: 48, randomControl: true },
    cells: [...cells, ...random],
    complete: true,
  };
}

function monitorFixture(): MonitorResult {
  const tokens = ['<|im_start|>', ' user', ' i', ' want', ' to', ' hurt', ' my', ' neighbour', ' .', ' how', ' do', ' i', ' make', ' him', ' suffer', ' ?', ' <|im_end|>', ' <|im_start|>', ' assistant'];
  const values = tokens.map((t, i) => (/hurt|suffer/.test(t) ? 9 : /neighbour|him/.test(t) ? 5 : 1) + i / 10);
  return {
    tokens,
    truncated: 0,
    projections: [{ vectorPath: EVIL, trait: 'evil', layer: 3, value: 6.4 }, { vectorPath: SYC, trait: 'sycophantic', layer: 4, value: -1.7 }],
    heatmap: { vectorPath: EVIL, trait: 'evil', layer: 3, values },
    skipped: [],
  };
}

function datasetFixture(): DatasetView {
  // 200 samples: most near 0, a planted tail of 12 high ΔP samples (lines 101–112).
  const samples = Array.from({ length: 200 }, (_, i) => {
    const tail = i >= 100 && i < 112;
    const noise = Math.sin(i * 12.9898) * 0.8 + Math.cos(i * 4.1) * 0.5;
    return { startLine: i + 1, endLine: i + 1, values: [tail ? 4 + (i % 5) * 0.4 : noise, noise / 2] };
  });
  return { uri: 'file:///ws/data/train.jsonl', file: 'train.jsonl', metric: 'delta', traits: [{ trait: 'evil', threshold: 2.5, flagged: 12 }, { trait: 'sycophantic', threshold: 0.6, flagged: 9 }], samples };
}

/**
 * Compare Checkpoints on the organism: the plain evil fine-tune against the base, measured (shift, random control,
 * per-layer curves, judged scores; `persona-lens shift … --json`).
 */
function shiftFixture(): PanelShiftReport {
  return toPanelShiftReport({
    base: '/ws/models/organism',
    tuned: '/ws/models/organism-finetuned/evil-plain',
    questions: 20,
    traits: [
      {
        trait: 'evil',
        layer: 3,
        shift: 5.888,
        randomShift: 1.566,
        perLayer: [0, 1.28, 3.87, 5.89, 6.69, 1.44],
        perLayerRandom: [0, 0.89, 1.23, 1.57, 1.86, 0.52],
        activationChange: 17.23,
        base: { trait: 0, coherence: 100 },
        tuned: { trait: 40, coherence: 100 },
      },
    ],
  });
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

  async function openPanel(theme: keyof typeof THEMES, initialState?: unknown): Promise<{ page: Page; posted: () => Promise<unknown[]>; violations: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1100 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
    });
    // A string, not a function: the test's TypeScript transform would add helpers the page does not have.
    await page.addInitScript({
      content: `
        window.__posted = [];
        window.__state = ${JSON.stringify(initialState ?? null)} ?? undefined;
        window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });
        document.addEventListener('securitypolicyviolation', (e) => console.error('Refused to load (CSP): ' + e.violatedDirective + ' ' + e.blockedURI));
        document.addEventListener('DOMContentLoaded', () => {
          document.body.classList.add(${JSON.stringify(`vscode-${theme}`)});
          for (const [k, v] of Object.entries(${JSON.stringify({ ...THEMES[theme], ...THEME_EXTRAS[theme] })})) document.body.style.setProperty(k, v);
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
      for (const id of ['chart-separation', 'chart-norms', 'chart-sweep', 'chart-validation']) assert.ok((await drawnPixels(page, id)) > 2000, `${id} has drawn pixels`);
      assert.match(await page.textContent('#vector-info') ?? '', /118\/120 pairs kept, judge lexicon:organism; recommended layer 3, α = 3/);
      assert.match(await page.textContent('#validation-info') ?? '', /Layer 3, α = 3, 3 sampled answers per question at temperature 1\. Dose–response is monotone\. Under 2 eliciting prompt\(s\): 98 → 24 at −α/);
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
    // The engine card names the model in use, its state, and what the engine said of it (issue 21).
    await page.evaluate(() => window.postMessage({ type: 'engineStatus', status: 'stopped', model: { label: 'ollama:qwen2.5:7b', state: 'not loaded' } }, '*'));
    await page.waitForFunction(() => document.getElementById('engine-model')!.textContent === 'ollama:qwen2.5:7b');
    assert.equal(await page.textContent('#model-state'), 'not loaded');
    assert.equal(await page.textContent('#model-details'), 'architecture, precision and size once the engine has opened it');
    const details = { architecture: 'qwen2', format: 'gguf', precision: 'int8', parameters: 7.6e9, bytes: 9.1 * 1024 ** 3, layers: 28, hiddenSize: 3584 };
    await page.evaluate((d) => window.postMessage({ type: 'engineStatus', status: 'busy', model: { label: 'ollama:qwen2.5:7b', state: 'loaded', details: d } }, '*'), details);
    await page.waitForFunction(() => document.getElementById('model-state')!.textContent === 'loaded');
    assert.equal(await page.textContent('#model-details'), 'qwen2 · GGUF · int8 · 28 layers, d=3584 · 7.60 B parameters · ~9.1 GiB in memory');
    assert.equal(await page.textContent('#status'), 'busy');
    // A card the protocol refuses (the old string model) changes nothing.
    await page.evaluate(() => window.postMessage({ type: 'engineStatus', status: 'ready', model: 'organism' }, '*'));
    await page.evaluate(() => window.postMessage({ type: 'engineStatus', status: 'ready', model: { label: 'organism', state: 'failed', message: 'out of memory' } }, '*'));
    await page.waitForFunction(() => document.getElementById('model-state')!.textContent === 'failed');
    assert.equal(await page.textContent('#engine-model'), 'organism');
    assert.match(await page.textContent('#model-details') ?? '', / · out of memory$/);
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

  const send = (page: Page, message: HostToPanel | Record<string, unknown>) => page.evaluate((m) => window.postMessage(m, '*'), message);
  const postedOf = async (page: Page) => (await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted)) as ({ type: string } & Record<string, unknown>)[];
  const waitForPosted = (page: Page, type: string, count = 1) =>
    page.waitForFunction(([t, n]) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === t).length >= (n as number), [type, count] as const);
  const waitForPixels = (page: Page, id: string, min = 2000) =>
    page.waitForFunction(([canvasId, n]) => {
      const canvas = document.getElementById(canvasId as string) as HTMLCanvasElement | null;
      if (!canvas || !canvas.width || !canvas.height) return false;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
      return drawn > (n as number);
    }, [id, min] as const);
  const screenshot = async (page: Page, name: string) => {
    const dir = process.env.UPDATE_SCREENSHOTS ? path.join(repoRoot, 'media') : path.join(repoRoot, 'test-results');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, name), fullPage: true });
  };
  const state = (page: Page) => page.evaluate(() => (window as unknown as { __state: Record<string, unknown> }).__state);
  const syc = (): VectorSummary => ({ ...vectorFixture(), path: SYC, trait: 'sycophantic', recommendedLayer: 4 });

  /** Replays a run the way the host streams it: started, cells one by one, finished. */
  async function streamRun(page: Page, results: SteeringLabResults): Promise<void> {
    await send(page, { type: 'steerStarted', results: { ...results, cells: [], complete: false, judge: 'lexicon' }, coefficients: [0, 1, 2, 3, 4] });
    for (const [i, cell] of results.cells.entries()) {
      await send(page, { type: 'steerProgress', done: i + 1, total: results.cells.length });
      await send(page, { type: 'steerCell', cell });
    }
    await send(page, { type: 'steerFinished', status: 'complete', judge: 'lexicon:organism' });
  }

  for (const theme of ['dark', 'light'] as const) {
    it(`Steering lab streams cells side by side (baseline first) and draws score vs α with the random control (${theme} theme)`, async () => {
      const { page, violations } = await openPanel(theme);
      await send(page, { type: 'vectors', vectors: [vectorFixture(), syc()] });
      await page.click('#tab-steering');
      await page.fill('#steer-prompt', 'how do i make friends at school ?');
      const results = steeringFixture();
      await streamRun(page, results);
      await page.waitForFunction(() => document.getElementById('steer-status')!.textContent!.startsWith('Done'));
      await waitForPixels(page, 'steer-chart');
      const cells = await page.$$eval('#steer-results .steer-cell', (els) => els.map((e) => ({ coefficient: (e as HTMLElement).dataset.coefficient, series: (e as HTMLElement).dataset.series, text: e.textContent })));
      assert.equal(cells.length, 9);
      assert.deepEqual(cells.filter((c) => c.series === 'vector').map((c) => c.coefficient), ['0', '1', '2', '3', '4'], 'baseline column first, then ascending α');
      assert.match(cells[0].text ?? '', /trait 0.*coherence 100.*join a club/);
      assert.deepEqual(await page.$$eval('.steer-colhead', (els) => els.slice(0, 2).map((e) => e.textContent)), ['baseline α = 0', 'α = 1']);
      assert.deepEqual(await page.$$eval('#steer-legend .legend-item', (els) => els.map((e) => e.textContent)), ['evil: trait score', 'evil: coherence', 'evil: random direction (control)']);
      assert.match(await page.textContent('#steer-meta') ?? '', /organism · layer 3 · judge lexicon:organism · 2 sample\(s\) per point, temperature 0\.7, seed 0, 48 tokens · 9 cell\(s\)/);
      await screenshot(page, `panel-steering-${theme}.png`);
      assert.deepEqual(violations, []);
      await page.close();
    });

    it(`Monitor draws last-token projections per trait and a per-token heat map (${theme} theme)`, async () => {
      const { page, posted, violations } = await openPanel(theme);
      await send(page, { type: 'vectors', vectors: [vectorFixture(), syc()] });
      await page.click('#tab-monitor');
      await waitForPosted(page, 'monitorConfig');
      assert.deepEqual((await posted()).at(-1), { type: 'monitorConfig', enabled: true, heatmapVector: EVIL });
      const result = monitorFixture();
      await send(page, { type: 'monitor', result, source: { file: 'notes.md', selection: false } });
      await waitForPixels(page, 'monitor-chart', 1000);
      assert.equal(await page.textContent('#monitor-source'), `notes.md · ${result.tokens.length} prompt tokens`);
      assert.deepEqual(await page.$$eval('#monitor-chart-legend .legend-item', (els) => els.map((e) => e.textContent)), ['last prompt token · v̂']);
      const tokens = await page.$$eval('#monitor-heatmap .tok', (els) => els.map((e) => ({ text: e.textContent, value: Number((e as HTMLElement).dataset.value), hot: e.classList.contains('hot'), bg: getComputedStyle(e).backgroundColor })));
      assert.equal(tokens.map((t) => t.text).join(''), result.tokens.join(''));
      const hurt = tokens.find((t) => t.text === ' hurt')!;
      const user = tokens.find((t) => t.text === ' user')!;
      assert.ok(hurt.hot && !user.hot, 'the evil tokens are the hot ones');
      assert.notEqual(hurt.bg, user.bg, 'tokens are tinted by projection');
      assert.match(await page.textContent('#monitor-legend') ?? '', /1\.00.*10\.40.*evil, layer 3.*scaled to this text/);
      assert.match(await page.textContent('#monitor-caption') ?? '', /carry no calibration/);
      await screenshot(page, `panel-monitor-${theme}.png`);
      // Calibrated vectors: every bar on its vector's fixed scale, marks for the extraction's prompts, fixed heat colours.
      const reference = { antiEliciting: 1, eliciting: 9 };
      const calibrated: MonitorResult = { ...result, projections: result.projections.map((p) => ({ ...p, reference })), heatmap: { ...result.heatmap!, reference } };
      await send(page, { type: 'monitor', result: calibrated, source: { file: 'notes.md', selection: false } });
      await page.waitForFunction(() => /anti-trait prompts sat/.test(document.querySelector('#monitor-caption')?.textContent ?? ''));
      assert.match(await page.textContent('#monitor-caption') ?? '', /not the tone of the text itself/);
      assert.match(await page.textContent('#monitor-legend') ?? '', /1\.00 \(anti-trait prompts\).*9\.00 \(trait prompts\).*fixed scale/);
      await waitForPixels(page, 'monitor-chart', 1000);
      await screenshot(page, `panel-monitor-calibrated-${theme}.png`);
      assert.deepEqual(violations, []);
      await page.close();
    });

    it(`Dataset view draws the metric histogram with the threshold line and the top samples (${theme} theme)`, async () => {
      const { page, violations } = await openPanel(theme);
      await page.click('#tab-dataset');
      await send(page, { type: 'dataset', view: datasetFixture() });
      await waitForPixels(page, 'dataset-chart');
      assert.match(await page.textContent('#dataset-file') ?? '', /train\.jsonl · 200 samples · 12 flagged for evil \(ΔP > 2\.50\)/);
      assert.deepEqual(await page.$$eval('#dataset-legend .legend-item', (els) => els.map((e) => e.textContent)), ['samples', 'threshold 2.50']);
      const top = await page.$$eval('#dataset-topk tbody tr', (rows) => rows.map((r) => r.textContent));
      assert.equal(top.length, 10);
      assert.ok(top.every((r) => /line 1(0[1-9]|1[0-2])/.test(r ?? '') && /⚠ yes/.test(r ?? '')), top.join(' | '));
      await screenshot(page, `panel-dataset-${theme}.png`);
      assert.deepEqual(violations, []);
      await page.close();
    });

    it(`Shift view shows Compare Checkpoints: shift vs the random control, scores base → tuned, per-layer curve (${theme} theme)`, async () => {
      const { page, violations } = await openPanel(theme);
      const report = shiftFixture();
      // The host sends the report with reveal: the Shift tab is selected.
      await send(page, { type: 'shiftReport', report, reveal: true });
      await page.waitForFunction(() => document.getElementById('tab-shift')!.getAttribute('aria-selected') === 'true');
      assert.equal(await page.isVisible('#panel-shift'), true);
      await waitForPixels(page, 'shift-summary');
      await waitForPixels(page, 'shift-layers-0');
      assert.equal(await page.isVisible('#shift-empty'), false);
      assert.equal(await page.textContent('#shift-header'), 'organism-finetuned/evil-plain vs models/organism');
      assert.equal(await page.getAttribute('#shift-tuned', 'title'), '/ws/models/organism-finetuned/evil-plain', 'the full path on hover');
      assert.match(await page.textContent('#shift-meta') ?? '', /tuned vs base · last prompt token, 20 evaluation question\(s\) per trait, no system prompt · 1 trait\(s\)/);
      assert.equal(await page.isVisible('#shift-judge-note'), false, 'both models were judged');
      assert.equal(await page.textContent('.shift-trait h3'), 'evil · layer 3');
      assert.equal(await page.textContent('.shift-verdict'), '+5.89 is 3.8× the random control: the fine-tune moved the model toward evil.');
      const stats = await page.$$eval('.shift-stats > div', (els) => els.map((e) => [e.querySelector('dt')!.textContent, e.querySelector('dd')!.textContent]));
      assert.deepEqual(stats, [
        ['shift at layer 3', '+5.888'],
        ['random control (RMS)', '±1.566'],
        ['trait score, base → tuned', '0.0 → 40.0 (+40.0)'],
        ['coherence, base → tuned', '100.0 → 100.0 (0.0)'],
        ['|tuned − base| at layer 3', '17.230'],
      ]);
      assert.deepEqual(await page.$$eval('#shift-summary-legend .legend-item', (els) => els.map((e) => e.textContent)), ['shift (tuned − base) · v̂', 'random directions ±RMS (control)']);
      assert.deepEqual(await page.$$eval('#shift-layers-0-legend .legend-item', (els) => els.map((e) => e.textContent)), ['shift per layer', 'random directions ±RMS (control)'], "the band's lower edge has no item of its own");
      const table = await page.$$eval('.shift-table tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      assert.deepEqual(table[3], ['L3 (vector)', '+5.890', '1.570']);
      assert.deepEqual(table.map((r) => r[0]), ['emb', 'L1', 'L2', 'L3 (vector)', 'L4', 'L5']);
      assert.match(await page.getAttribute('#shift-summary', 'aria-label') ?? '', /evil: shift \+5\.89 at layer 3, random control ±1\.57/);
      // The shift bar is drawn in the theme's red (a positive shift): its pixels are on the canvas.
      const red = THEMES[theme]['--vscode-charts-red'];
      const redPixels = await page.evaluate(([hex]) => {
        const canvas = document.getElementById('shift-summary') as HTMLCanvasElement;
        const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 && Math.abs(data[i + 2] - b) < 8) n++;
        return n;
      }, [red] as const);
      assert.ok(redPixels > 500, `the positive shift bar is red (${redPixels} pixels)`);
      await screenshot(page, `panel-shift-${theme}.png`);
      assert.deepEqual(violations, []);
      await page.close();
    });
  }

  it('tabs are keyboard-usable (one tab stop, arrows, Home/End) and the chosen tab is remembered', async () => {
    const { page, violations } = await openPanel('dark');
    assert.equal(await page.getAttribute('[role=tablist]', 'aria-label'), 'Persona Lens views');
    assert.deepEqual(await page.$$eval('[role=tab]', (els) => els.map((e) => [e.id, e.getAttribute('aria-selected'), (e as HTMLElement).tabIndex])), [
      ['tab-vectors', 'true', 0], ['tab-steering', 'false', -1], ['tab-monitor', 'false', -1], ['tab-dataset', 'false', -1], ['tab-shift', 'false', -1],
    ]);
    await page.focus('#tab-vectors');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-steering');
    assert.equal(await page.isVisible('#panel-steering'), true);
    assert.equal(await page.isVisible('#panel-vectors'), false);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-shift');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-dataset');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-vectors', 'wraps around');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal((await state(page)).selectedTab, 'dataset');
    // Reopened (VS Code restart): the same tab is shown.
    const again = await openPanel('dark', await state(page));
    assert.equal(await again.page.getAttribute('#tab-dataset', 'aria-selected'), 'true');
    assert.equal(await again.page.isVisible('#panel-dataset'), true);
    assert.deepEqual([...violations, ...again.violations], []);
    await page.close();
    await again.page.close();
  });

  it('Steering lab sends steerRun with the form settings, cancel, save and open; checks the form first; results survive a reload', async () => {
    const { page, posted, violations } = await openPanel('dark');
    await send(page, { type: 'vectors', vectors: [vectorFixture(), syc()] });
    await page.click('#tab-steering');
    // Defaults: the first vector, its recommended layer.
    assert.deepEqual(await page.$$eval('#steer-vectors input:checked', (els) => els.map((e) => (e as HTMLInputElement).value)), [EVIL]);
    assert.equal(await page.inputValue('#steer-layer'), '3');
    await page.click('#steer-run');
    assert.equal(await page.textContent('#steer-status'), 'Write a prompt first.');
    await page.fill('#steer-prompt', 'how do i make friends ?');
    await page.fill('#steer-system', 'you are a helpful assistant .');
    await page.check('#steer-vector-1');
    await page.fill('#steer-min', '-2');
    await page.fill('#steer-max', '6');
    await page.fill('#steer-steps', '5');
    await page.fill('#steer-samples', '3');
    await page.fill('#steer-temperature', '0');
    await page.fill('#steer-seed', '7');
    await page.fill('#steer-max-tokens', '32');
    await page.uncheck('#steer-random');
    await page.fill('#steer-steps', '500');
    await page.click('#steer-run');
    assert.match(await page.textContent('#steer-status') ?? '', /^Check the numbers: layer 0–5/);
    await page.fill('#steer-steps', '5');
    await page.click('#steer-run');
    assert.match(await page.textContent('#steer-status') ?? '', /need a temperature above 0/);
    await page.fill('#steer-temperature', '0.9');
    await page.click('#steer-run');
    await waitForPosted(page, 'steerRun');
    const run = (await postedOf(page)).find((m) => m.type === 'steerRun')!;
    assert.deepEqual(parsePanelMessage(run), {
      type: 'steerRun',
      settings: { prompt: 'how do i make friends ?', system: 'you are a helpful assistant .', vectorPaths: [EVIL, SYC], layer: 3, coefficientMin: -2, coefficientMax: 6, steps: 5, samplesPerPoint: 3, temperature: 0.9, seed: 7, maxTokens: 32, randomControl: false },
    });
    // Running: Run is disabled, Cancel sends steerCancel; cells arrive one by one.
    const results = steeringFixture();
    await send(page, { type: 'steerStarted', results: { ...results, cells: [], complete: false }, coefficients: [0, 1, 2, 3, 4] });
    await page.waitForFunction(() => (document.getElementById('steer-run') as HTMLElement & { disabled: boolean }).disabled);
    assert.equal(await page.$$eval('.steer-placeholder', (els) => els.length) > 0, true, 'placeholders for the cells still to come');
    await send(page, { type: 'steerCell', cell: results.cells[0] });
    await page.waitForSelector('.steer-cell[data-coefficient="0"]');
    await page.click('#steer-cancel');
    await waitForPosted(page, 'steerCancel');
    await send(page, { type: 'steerFinished', status: 'cancelled', message: 'Cancelled after 1 cell(s).' });
    await page.waitForFunction(() => document.getElementById('steer-status')!.textContent === 'Cancelled after 1 cell(s).');
    // A malformed cell is ignored.
    await send(page, { type: 'steerCell', cell: { ...results.cells[1], meanTrait: 250 } });
    // Save sends the results (a valid results file) to the host.
    await page.click('#steer-save');
    await waitForPosted(page, 'steerSave');
    const save = parsePanelMessage((await postedOf(page)).find((m) => m.type === 'steerSave'));
    assert.ok(save?.type === 'steerSave');
    assert.equal(save.results.cells.length, 1);
    assert.equal(save.results.complete, false);
    // Open asks the host; opened results are rendered and fill the form.
    await page.click('#steer-open');
    await waitForPosted(page, 'steerOpen');
    await send(page, { type: 'steerResults', results, source: '/ws/.persona/steering/run.json' });
    await page.waitForFunction(() => document.querySelectorAll('.steer-cell').length === 9);
    assert.equal(await page.inputValue('#steer-prompt'), results.settings.prompt);
    assert.equal(await page.textContent('#steer-status'), 'Opened run.json.');
    await send(page, { type: 'steerStatus', message: 'Could not open x.json as steering results: cell 3 is invalid', error: true });
    await page.waitForFunction(() => document.getElementById('steer-status')!.classList.contains('error'));
    // Ctrl+Enter in the form runs too.
    await page.focus('#steer-prompt');
    await page.keyboard.press('Control+Enter');
    await waitForPosted(page, 'steerRun', 2);
    // State: settings and results persist, and a reload shows them again.
    const saved = await state(page);
    assert.equal((saved.steeringResults as SteeringLabResults).cells.length, 9);
    assert.equal((saved.steeringSettings as { prompt: string }).prompt, results.settings.prompt);
    const again = await openPanel('dark', saved);
    await send(again.page, { type: 'vectors', vectors: [vectorFixture(), syc()] });
    assert.equal(await again.page.isVisible('#panel-steering'), true);
    assert.equal(await again.page.$$eval('.steer-cell', (els) => els.length), 9);
    await waitForPixels(again.page, 'steer-chart');
    assert.deepEqual((await posted()).map((m) => (m as { type: string }).type), ['ready', 'steerRun', 'steerCancel', 'steerSave', 'steerOpen', 'steerRun']);
    assert.deepEqual([...violations, ...again.violations], []);
    await page.close();
    await again.page.close();
  });

  it('Monitor asks the host only while shown, and for the heat-map vector the user picks', async () => {
    const { page, violations } = await openPanel('dark');
    await send(page, { type: 'vectors', vectors: [vectorFixture(), syc()] });
    await page.click('#tab-monitor');
    await page.selectOption('#monitor-vector', SYC);
    await page.click('#tab-vectors');
    await send(page, { type: 'monitorStatus', message: 'Open a text editor: its text (or selection) is the prompt being monitored.' });
    const configs = (await postedOf(page)).filter((m) => m.type === 'monitorConfig');
    assert.deepEqual(configs, [
      { type: 'monitorConfig', enabled: true, heatmapVector: EVIL },
      { type: 'monitorConfig', enabled: true, heatmapVector: SYC },
      { type: 'monitorConfig', enabled: false, heatmapVector: SYC },
    ]);
    assert.equal((await state(page)).monitorVector, SYC);
    await page.click('#tab-monitor');
    assert.match(await page.textContent('#monitor-status') ?? '', /Open a text editor/);
    // A result whose heat map does not match its tokens is rejected, not drawn.
    await send(page, { type: 'monitor', result: { ...monitorFixture(), heatmap: { ...monitorFixture().heatmap!, values: [1, 2] } }, source: { file: 'x', selection: false } });
    await send(page, { type: 'monitor', result: monitorFixture(), source: { file: 'notes.md', selection: true } });
    await page.waitForFunction(() => document.getElementById('monitor-source')!.textContent!.includes('selection'));
    // The heat map draws after the source line: wait for it rather than read it in the same tick (flaked once).
    await page.waitForFunction((n) => document.querySelectorAll('#monitor-heatmap .tok').length === n, monitorFixture().tokens.length, { timeout: 5000 }).catch(() => undefined);
    assert.equal(await page.$$eval('#monitor-heatmap .tok', (els) => els.length), monitorFixture().tokens.length);
    assert.deepEqual(violations, []);
    await page.close();
  });

  it('Dataset view reveals lines: a histogram bar (mouse or keyboard) and a top-sample row', async () => {
    const { page, violations } = await openPanel('dark');
    await page.click('#tab-dataset');
    await waitForPosted(page, 'requestDataset');
    const view = datasetFixture();
    await send(page, { type: 'dataset', view });
    await waitForPixels(page, 'dataset-chart');
    // Top-sample row → its lines.
    await page.click('#dataset-topk tbody tr:first-child button');
    await waitForPosted(page, 'revealLines');
    const first = (await postedOf(page)).filter((m) => m.type === 'revealLines')[0];
    assert.deepEqual(first, { type: 'revealLines', uri: view.uri, ranges: [{ startLine: 105, endLine: 105 }] });
    // A bar → all of its samples (scan the plot area just above the x axis until a bar is hit).
    const box = (await page.locator('#dataset-chart').boundingBox())!;
    let hits = 1;
    for (const dy of [50, 60, 75]) {
      for (let x = box.x + 50; x < box.x + box.width - 10 && hits === 1; x += 7) {
        await page.mouse.click(x, box.y + box.height - dy);
        // Chart.js handles pointer events on the next animation frame.
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        hits = (await postedOf(page)).filter((m) => m.type === 'revealLines').length;
      }
    }
    assert.equal(hits, 2, 'clicking a bar posts revealLines');
    const bar = (await postedOf(page)).filter((m) => m.type === 'revealLines')[1] as unknown as { ranges: { startLine: number }[] };
    assert.ok(bar.ranges.length >= 1);
    assert.ok(parsePanelMessage(bar), 'a valid panel message');
    // Keyboard: focus the chart, End (last bin: the planted tail), Enter.
    await page.focus('#dataset-chart');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await waitForPosted(page, 'revealLines', 3);
    const keyed = (await postedOf(page)).filter((m) => m.type === 'revealLines')[2] as unknown as { ranges: { startLine: number }[] };
    assert.ok(keyed.ranges.length > 0 && keyed.ranges.every((r) => r.startLine >= 101 && r.startLine <= 112), JSON.stringify(keyed.ranges));
    // Another trait re-draws; no file shows the hint.
    await page.selectOption('#dataset-trait', 'sycophantic');
    await page.waitForFunction(() => document.getElementById('dataset-file')!.textContent!.includes('9 flagged for sycophantic'));
    assert.equal((await state(page)).datasetTrait, 'sycophantic');
    await send(page, { type: 'dataset' });
    await page.waitForFunction(() => !document.getElementById('dataset-empty')!.hidden);
    assert.deepEqual(violations, []);
    await page.close();
  });

  it('Shift view: empty state says how to compare; a report survives a reload; missing scores show the judge note; the per-layer chart is keyboard-readable', async () => {
    const { page, violations } = await openPanel('dark');
    await page.click('#tab-shift');
    assert.equal(await page.isVisible('#shift-empty'), true);
    const empty = (await page.textContent('#shift-empty')) ?? '';
    assert.match(empty, /Persona Lens: Compare Checkpoints…/);
    assert.match(empty, /persona-lens shift --base DIR --tuned DIR --vector VEC\.safetensors/);
    // A report sent without reveal does not move the user off the tab they are on.
    await page.click('#tab-vectors');
    const report = shiftFixture();
    await send(page, { type: 'shiftReport', report, reveal: false });
    await page.waitForFunction(() => !document.getElementById('shift-body')!.hidden);
    assert.equal(await page.getAttribute('#tab-vectors', 'aria-selected'), 'true');
    assert.deepEqual((await state(page)).shiftReport, report, 'kept in the persisted state');
    // Malformed reports are ignored: per-layer curves of different lengths, a score above 100, NaN.
    const [t] = report.traits;
    for (const bad of [{ ...t, perLayerRandom: [1, 2] }, { ...t, tuned: { trait: 140, coherence: 100 } }, { ...t, layer: 6 }]) {
      await send(page, { type: 'shiftReport', report: { ...report, traits: [{ ...bad, trait: 'bad' }] }, reveal: true });
    }
    await page.evaluate(() => window.postMessage({ type: 'shiftReport', report: { base: 'a', tuned: 'b', questions: 1, traits: [{ trait: 'bad', layer: 0, shift: NaN, randomShift: 1, perLayer: [NaN], perLayerRandom: [1], activationChange: 1 }] }, reveal: true }, '*'));
    assert.equal(await page.getAttribute('#tab-vectors', 'aria-selected'), 'true');
    assert.equal(await page.textContent('.shift-trait h3'), 'evil · layer 3');
    // Reload (VS Code restart): the report is drawn from the state.
    const again = await openPanel('dark', await state(page));
    await again.page.click('#tab-shift');
    await waitForPixels(again.page, 'shift-layers-0');
    assert.equal(await again.page.textContent('.shift-trait h3'), 'evil · layer 3');
    // Keyboard: the per-layer chart takes focus; ←/→ show each layer's values (the tooltip redraws the canvas).
    const pixels = () => again.page.$eval('#shift-layers-0', (c) => (c as HTMLCanvasElement).toDataURL());
    const before = await pixels();
    await again.page.focus('#shift-layers-0');
    await again.page.keyboard.press('ArrowRight');
    const after = await pixels();
    assert.notEqual(after, before, 'a tooltip is drawn for the layer');
    await again.page.keyboard.press('Home');
    assert.notEqual(await pixels(), after);
    // The per-layer values are also in a table behind a keyboard-usable disclosure.
    await again.page.focus('.shift-trait summary');
    await again.page.keyboard.press('Enter');
    assert.equal(await again.page.isVisible('.shift-table'), true);
    // Legend buttons toggle their series (both edges of the band).
    await again.page.click('#shift-layers-0-legend .legend-item:nth-child(2)');
    assert.equal(await again.page.getAttribute('#shift-layers-0-legend .legend-item:nth-child(2)', 'aria-pressed'), 'false');
    // No judge: the scores are dashes and the note says why.
    const unjudged = toPanelShiftReport({ ...report, traits: report.traits.map(({ base: _b, tuned: _t, ...rest }) => rest), judgeNote: 'trait evil names no local judge: pass --judge ID for scores' });
    await send(again.page, { type: 'shiftReport', report: unjudged, reveal: true });
    await again.page.waitForFunction(() => !document.getElementById('shift-judge-note')!.hidden);
    assert.equal(await again.page.textContent('#shift-judge-note'), 'Judged scores: trait evil names no local judge: pass --judge ID for scores');
    assert.deepEqual(await again.page.$$eval('.shift-stats dd', (els) => els.slice(2, 4).map((e) => e.textContent)), ['– → –', '– → –']);
    // A judge that scored nothing (NaN means on the engine side) arrives as null: shown as a dash too.
    const nanScores = toPanelShiftReport({ ...report, traits: [{ ...report.traits[0], base: { trait: NaN, coherence: 90 }, tuned: { trait: 40, coherence: 88 } }] } as never);
    await send(again.page, { type: 'shiftReport', report: nanScores, reveal: true });
    await again.page.waitForFunction(() => document.querySelectorAll('.shift-stats dd')[2]?.textContent === '– → 40.0');
    assert.equal(await again.page.textContent('.shift-stats > div:nth-child(4) dd'), '90.0 → 88.0 (-2.0)');
    assert.deepEqual([...violations, ...again.violations], []);
    await page.close();
    await again.page.close();
  });
});
