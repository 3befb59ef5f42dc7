/**
 * The panel's host glue against the mocked `vscode` and a fake engine: what it asks the engine for, what it posts
 * to the webview, how it debounces the monitor, reveals dataset lines, saves (never replacing a file silently) and
 * opens (validating) steering results, shows Compare Checkpoints reports in the Shift view, and that bad messages or
 * files never throw out of the host.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeWebviewPanel } from '../mocks/vscode';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { parseHostToPanel, type HostToPanel, type SteeringLabCell, type SteeringLabResults } from '../../src/protocol/panelProtocol';
import type { ShiftReport } from '../../src/core/finetuning/finetuningShift';
import type { EngineMethod, ParamsOf } from '../../src/protocol/engineProtocol';
import type { ScreenResult } from '../../src/protocol/engineProtocol';
import { EngineError, type RequestOptions } from '../../src/engine/client';

const vscode = installVscodeMock();
type Listener = (e: unknown) => void;

/** What the shared mock lacks for the panel: editor events, webview panels, selections. Added for this file only. */
function extendMock() {
  const emitters = {
    activeEditor: new vscode.EventEmitter<unknown>(),
    selection: new vscode.EventEmitter<unknown>(),
    docChange: new vscode.EventEmitter<unknown>(),
    docClose: new vscode.EventEmitter<unknown>(),
  };
  const win = vscode.window as unknown as Record<string, unknown>;
  const ws = vscode.workspace as unknown as Record<string, unknown>;
  const mod = vscode as unknown as Record<string, unknown>;
  const saved = { win: { ...win }, ws: { ...ws } };
  const shown: { document: unknown; options: unknown; editor: FakeEditor }[] = [];
  Object.assign(win, {
    onDidChangeActiveTextEditor: emitters.activeEditor.event,
    onDidChangeTextEditorSelection: emitters.selection.event,
    showTextDocument: async (document: FakeDocument, options: unknown) => {
      const editor = new FakeEditor(document);
      shown.push({ document, options, editor });
      return editor;
    },
    createWebviewPanel: () => new FakeWebviewPanel(),
  });
  Object.assign(ws, { onDidChangeTextDocument: emitters.docChange.event, onDidCloseTextDocument: emitters.docClose.event });
  mod.Selection ??= class extends vscode.Range {
    get isEmpty() {
      return this.start.line === this.end.line && this.start.character === this.end.character;
    }
  };
  mod.TextEditorRevealType ??= { Default: 0, InCenter: 1, InCenterIfOutsideViewport: 2, AtTop: 3 };
  const restore = () => {
    for (const k of Object.keys(win)) if (!(k in saved.win)) delete win[k];
    Object.assign(win, saved.win);
    for (const k of Object.keys(ws)) if (!(k in saved.ws)) delete ws[k];
    Object.assign(ws, saved.ws);
  };
  return { emitters, shown, restore };
}

class FakeDocument {
  readonly uri: { scheme: string; fsPath: string; toString(): string };
  constructor(readonly fileName: string, public text: string) {
    this.uri = { scheme: 'file', fsPath: fileName, toString: () => `file://${fileName}` };
  }
  get lineCount() {
    return this.text.split('\n').length;
  }
  lineAt(i: number) {
    return { text: this.text.split('\n')[i] };
  }
  getText(range?: { start: { line: number; character: number }; end: { line: number; character: number } }) {
    if (!range) return this.text;
    const lines = this.text.split('\n').slice(range.start.line, range.end.line + 1);
    return lines.join('\n').slice(range.start.character, lines.join('\n').length - (lines.at(-1)!.length - range.end.character));
  }
}

class FakeEditor {
  selection: { isEmpty: boolean; start: { line: number; character: number }; end: { line: number; character: number } } = { isEmpty: true, start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  selections: unknown[] = [];
  revealed: unknown[] = [];
  viewColumn = 1;
  constructor(readonly document: FakeDocument) {}
  revealRange(range: unknown) {
    this.revealed.push(range);
  }
}

interface Call {
  method: EngineMethod;
  params: ParamsOf<EngineMethod>;
  options?: RequestOptions<EngineMethod>;
}

/** An engine whose answers the test scripts: `answer` decides per call (may stream partials first). */
function fakeEngine(answer: (call: Call) => Promise<unknown>) {
  const calls: Call[] = [];
  const status = new vscode.EventEmitter<string>();
  const model = new vscode.EventEmitter<unknown>();
  return {
    calls,
    engine: {
      isRunning: false,
      status: 'stopped',
      model: undefined,
      summaryOf: () => undefined,
      onDidChangeStatus: status.event,
      onDidChangeModel: model.event,
      request: (method: EngineMethod, params: ParamsOf<EngineMethod>, options?: RequestOptions<EngineMethod>) => {
        const call = { method, params, options };
        calls.push(call);
        return answer(call);
      },
    },
  };
}

const settings = { prompt: 'hello ?', vectorPaths: ['/v/evil.safetensors'], layer: 3, coefficientMin: 1, coefficientMax: 2, steps: 2, samplesPerPoint: 1, temperature: 0, seed: 0, maxTokens: 8, randomControl: true };
const cellAt = (coefficient: number, series: 'vector' | 'random' = 'vector'): SteeringLabCell => ({ vectorPath: '/v/evil.safetensors', trait: 'evil', series, layer: 3, coefficient, meanTrait: coefficient * 30, meanCoherence: 90, samples: [{ text: 'x', trait: coefficient * 30, coherence: 90 }] });
const until = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('panel host glue (mocked vscode, fake engine)', function () {
  this.timeout(20000);
  let storage: string;
  let mock: ReturnType<typeof extendMock>;
  let PersonaLensPanel: typeof import('../../src/extension/panel').PersonaLensPanel;
  let MonitorController: typeof import('../../src/extension/panel/monitorHost').MonitorController;
  let datasetView: typeof import('../../src/extension/panel/datasetHost').datasetView;

  before(() => {
    mock = extendMock();
    ({ PersonaLensPanel } = require('../../src/extension/panel'));
    ({ MonitorController } = require('../../src/extension/panel/monitorHost'));
    ({ datasetView } = require('../../src/extension/panel/datasetHost'));
  });
  after(() => mock.restore());
  beforeEach(() => {
    vscode.resetRecorded();
    storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-panel-'));
    (vscode.window as { activeTextEditor: unknown }).activeTextEditor = undefined;
  });
  const open: FakeWebviewPanel[] = [];
  afterEach(() => {
    // A failed test must not leave its panel as the one PersonaLensPanel.show reveals.
    for (const panel of open.splice(0)) panel.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  function openPanel(answer: (call: Call) => Promise<unknown>, screening?: { results: Map<string, ScreenResult> }) {
    const { engine, calls } = fakeEngine(answer);
    const screeningChanged = new vscode.EventEmitter<void>();
    const results = screening?.results ?? new Map<string, ScreenResult>();
    const log: string[] = [];
    let webviewPanel: FakeWebviewPanel | undefined;
    (vscode.window as unknown as { createWebviewPanel: () => FakeWebviewPanel }).createWebviewPanel = () => {
      webviewPanel = new FakeWebviewPanel();
      open.push(webviewPanel);
      return webviewPanel;
    };
    const context = { extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined }, subscriptions: [] };
    PersonaLensPanel.show(context as never, {
      engine: engine as never,
      log: { appendLine: (l: string) => log.push(l) } as never,
      screening: { result: (uri: { toString(): string }) => results.get(uri.toString()), onDidChangeCodeLenses: screeningChanged.event } as never,
    });
    return { panel: webviewPanel!, calls, log, screeningChanged, results, close: () => webviewPanel!.dispose() };
  }

  it('a vector file written while the panel is open is listed at once (file watcher on both vector folders), and the watchers go with the panel', async () => {
    const created = vscode.fileWatchers.length;
    const p = openPanel(async () => ({}));
    await p.panel.send({ type: 'ready' });
    // This panel's watchers (a panel another test left open keeps its own).
    const watchers = vscode.fileWatchers.slice(created);
    const storageWatcher = watchers.find((w) => (w.pattern.base as { fsPath: string }).fsPath === path.join(storage, 'vectors'));
    assert.ok(storageWatcher, 'the extension storage\'s vectors folder is watched');
    const before = p.panel.posted.filter((m) => m.type === 'vectors').length;
    storageWatcher!.created.fire(vscode.Uri.file(path.join(storage, 'vectors', 'evil.organism.safetensors')));
    storageWatcher!.changed.fire(vscode.Uri.file(path.join(storage, 'vectors', 'evil.organism.safetensors')));
    await until(() => p.panel.posted.filter((m) => m.type === 'vectors').length === before + 1, 3000);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(p.panel.posted.filter((m) => m.type === 'vectors').length, before + 1, 'two events in a burst: one refresh');
    p.close();
    assert.ok(watchers.every((w) => w.disposed), 'closing the panel disposes its watchers');
  });

  it('ready: engine status, the vector list and the dataset view; a malformed message is logged, not thrown', async () => {
    const p = openPanel(async () => ({}));
    assert.match(p.panel.webview.html, /Content-Security-Policy/);
    await p.panel.send({ type: 'ready' });
    assert.deepEqual(p.panel.posted.map((m) => m.type), ['engineStatus', 'vectors', 'dataset']);
    await p.panel.send({ type: 'steerRun', settings: { ...settings, layer: 'three' } });
    await p.panel.send({ type: 'revealLines', uri: 'file:///etc/passwd', ranges: [{ startLine: 1, endLine: 1 }] });
    assert.equal(p.calls.length, 0);
    assert.match(p.log.join('\n'), /ignored a malformed message: \{"type":"steerRun"/);
    p.close();
  });

  it('steerRun: the sweep runs in the engine with the selected model and judge; streamed cells reach the panel before it finishes', async () => {
    const p = openPanel(async (call) => {
      const options = call.options as RequestOptions<'steeringLab'>;
      options.onProgress?.({ done: 1, total: 3 });
      for (const c of [cellAt(0), cellAt(1), cellAt(1, 'random')]) options.onPartial?.(c);
      return { cells: [], judge: 'lexicon:organism', weakJudge: false };
    });
    await p.panel.send({ type: 'steerRun', settings });
    assert.equal(p.calls.length, 1);
    const params = p.calls[0].params as ParamsOf<'steeringLab'>;
    assert.equal(p.calls[0].method, 'steeringLab');
    assert.equal(params.modelPath, path.join(repoRoot, 'models', 'organism'), 'the bundled organism when no model is selected');
    assert.deepEqual(params.judge, { kind: 'lexicon' }, 'the organism ships its lexicon judge');
    assert.deepEqual(params.coefficients, [0, 1, 2]);
    assert.equal(params.prompt, 'hello ?');
    assert.equal(path.basename(params.cacheRoot!), 'cache');
    assert.deepEqual(p.panel.posted.map((m) => m.type), ['steerStarted', 'steerProgress', 'steerCell', 'steerCell', 'steerCell', 'steerFinished']);
    const end = p.panel.posted.at(-1)!;
    assert.deepEqual(end, { type: 'steerFinished', status: 'complete', judge: 'lexicon:organism' });
    p.close();
  });

  it('steerCancel aborts the engine request; the run ends as cancelled; an engine failure ends as failed with its message', async () => {
    let release: (() => void) | undefined;
    const p = openPanel(
      (call) =>
        new Promise((_resolve, reject) => {
          (call.options as RequestOptions<'steeringLab'>).onPartial?.(cellAt(0));
          call.options?.signal?.addEventListener('abort', () => reject(new EngineError('cancelled', 'Cancelled')));
          release = () => reject(new EngineError('failed', 'model exploded'));
        }),
    );
    const run = p.panel.send({ type: 'steerRun', settings });
    await until(() => p.panel.posted.some((m) => m.type === 'steerCell'));
    await p.panel.send({ type: 'steerCancel' });
    await run;
    assert.deepEqual(p.panel.posted.at(-1), { type: 'steerFinished', status: 'cancelled', message: 'Cancelled after 1 cell(s).' });
    const again = p.panel.send({ type: 'steerRun', settings });
    await until(() => release !== undefined && p.panel.posted.filter((m) => m.type === 'steerStarted').length === 2);
    release!();
    await again;
    assert.deepEqual(p.panel.posted.at(-1), { type: 'steerFinished', status: 'failed', message: 'model exploded' });
    p.close();
  });

  it('steerSave writes the results; an existing file is not replaced without a yes; steerOpen validates the file', async () => {
    const p = openPanel(async () => ({}));
    const results: SteeringLabResults = { format: 'persona-lens/steering-lab@1', created: '2025-11-27T10:00:00.000Z', model: 'organism', judge: 'lexicon:organism', settings, cells: [cellAt(0), cellAt(1)], complete: true };
    const file = path.join(storage, 'run.json');
    vscode.recorded.answers = { saveDialog: file };
    await p.panel.send({ type: 'steerSave', results });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), results);
    // Same file again: the mock answers the "Replace?" question with nothing, so it stays as it was.
    writeFileSync(file, '{"keep": true}');
    await p.panel.send({ type: 'steerSave', results });
    assert.equal(readFileSync(file, 'utf8'), '{"keep": true}');
    assert.deepEqual(p.panel.posted.at(-1), { type: 'steerStatus', message: 'Not saved: run.json already exists.', error: false });
    assert.match(vscode.recorded.messages.at(-1)!.text, /run\.json already exists\. Replace it/);
    // Open: malformed JSON, a valid JSON that is not a results file, then the real one.
    vscode.recorded.answers = { openDialog: file };
    await p.panel.send({ type: 'steerOpen' });
    assert.deepEqual(p.panel.posted.at(-1), { type: 'steerStatus', message: 'Could not open run.json as steering results: "format" must be "persona-lens/steering-lab@1" (got undefined)', error: true });
    writeFileSync(file, '{ not json');
    await p.panel.send({ type: 'steerOpen' });
    const status = p.panel.posted.at(-1)!;
    assert.ok(status.type === 'steerStatus' && status.error && /not valid JSON/.test(status.message), JSON.stringify(status));
    assert.ok(vscode.recorded.messages.some((m) => m.level === 'error' && /not valid JSON/.test(m.text)));
    writeFileSync(file, JSON.stringify(results));
    await p.panel.send({ type: 'steerOpen' });
    assert.deepEqual(p.panel.posted.at(-2), { type: 'steerResults', results, source: file });
    vscode.recorded.answers = { openDialog: path.join(storage, 'missing.json') };
    await p.panel.send({ type: 'steerOpen' });
    assert.match((p.panel.posted.at(-1) as { message: string }).message, /Could not open missing\.json as steering results: ENOENT/);
    p.close();
  });

  it('monitor: only while shown, the followed editor\'s text (or selection), debounced; an engine error becomes a status line', async () => {
    let fail = false;
    const p = openPanel(async (call) => {
      if (fail) throw new EngineError('failed', 'the vector is zero at this layer');
      const text = (call.params as ParamsOf<'monitor'>).text;
      return { tokens: text.split(' '), truncated: 0, projections: [], heatmap: undefined, skipped: [] };
    });
    const status = () => p.panel.posted.filter((m) => m.type === 'monitorStatus').map((m) => (m as { message: string }).message);
    await p.panel.send({ type: 'monitorConfig', enabled: true });
    await until(() => status().length === 1);
    assert.match(status()[0], /Open a text editor/);
    // The user focuses an editor: no vectors yet.
    const doc = new FakeDocument('/ws/notes.md', 'how do i');
    const editor = new FakeEditor(doc);
    mock.emitters.activeEditor.fire(editor);
    await until(() => status().length === 2, 3000);
    assert.match(status()[1], /No persona vectors yet/);
    // The vectors it monitors are the files the panel lists (the fake engine does not read them).
    mkdirSync(path.join(storage, 'vectors'));
    writeFileSync(path.join(storage, 'vectors', 'evil.organism.safetensors'), '');
    mock.emitters.docChange.fire({ document: doc, contentChanges: [{}] });
    await until(() => p.calls.length === 1, 3000);
    assert.equal((p.calls[0].params as ParamsOf<'monitor'>).text, 'how do i');
    for (const t of ['how do i b', 'how do i ba', 'how do i bake']) {
      doc.text = t;
      mock.emitters.docChange.fire({ document: doc, contentChanges: [{}] });
    }
    await until(() => p.calls.length === 2, 3000);
    assert.equal((p.calls[1].params as ParamsOf<'monitor'>).text, 'how do i bake');
    const last = p.panel.posted.filter((m) => m.type === 'monitor').at(-1)!;
    assert.deepEqual(last.type === 'monitor' && last.source, { file: 'notes.md', selection: false });
    // A selection is monitored alone.
    editor.selection = { isEmpty: false, start: { line: 0, character: 9 }, end: { line: 0, character: 13 } };
    mock.emitters.selection.fire({ textEditor: editor });
    await until(() => p.calls.length === 3, 3000);
    // The next request is the selection's: the three keystrokes within the debounce delay made one request.
    assert.equal((p.calls[2].params as ParamsOf<'monitor'>).text, 'bake', 'three keystrokes within the debounce delay: one request');
    fail = true;
    mock.emitters.selection.fire({ textEditor: editor });
    await until(() => p.panel.posted.some((m) => m.type === 'monitorStatus' && /Monitoring failed: the vector is zero/.test(m.message)), 3000);
    // Hidden: edits no longer reach the engine.
    await p.panel.send({ type: 'monitorConfig', enabled: false });
    const before = p.calls.length;
    mock.emitters.docChange.fire({ document: doc, contentChanges: [{}] });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(p.calls.length, before);
    p.close();
  });

  it('monitor: a request in flight is not aborted, its stale result is dropped and one follow-up runs with the latest text', async () => {
    const pending: { text: string; resolve: (v: unknown) => void }[] = [];
    const posted: HostToPanel[] = [];
    let text = 'a';
    const monitor = new MonitorController({
      engine: { request: ((_m: string, params: { text: string }) => new Promise((resolve) => pending.push({ text: params.text, resolve }))) as never },
      post: (m) => posted.push(m),
      model: () => ({ modelPath: '/m', label: 'm' }),
      vectorPaths: () => ['/v'],
      source: () => ({ text, file: 'f', selection: false }),
      log: () => undefined,
      debounceMs: 5,
    });
    monitor.configure(true);
    await until(() => pending.length === 1);
    text = 'a b';
    void monitor.run();
    text = 'a b c';
    void monitor.run();
    const result = (t: string) => ({ tokens: [t], truncated: 0, projections: [], skipped: [] });
    pending[0].resolve(result('a'));
    await until(() => pending.length === 2);
    assert.equal(pending[1].text, 'a b c', 'the follow-up uses the latest text; "a b" never reached the engine');
    pending[1].resolve(result('a b c'));
    await until(() => posted.some((m) => m.type === 'monitor'));
    assert.deepEqual(posted.filter((m) => m.type === 'monitor').map((m) => m.type === 'monitor' && m.result.tokens[0]), ['a b c'], 'the stale result for "a" was dropped');
    monitor.dispose();
  });

  it('dataset: the followed editor\'s screening results as a view; revealLines selects those lines, only in that file', async () => {
    const file = path.join(storage, 'data.jsonl');
    const doc = new FakeDocument(file, ['{"a":1}', '{"a":2}', '{"a":3}', '{"a":4}'].join('\n'));
    const result: ScreenResult = {
      traits: ['evil'],
      metric: 'delta',
      issues: [],
      summaries: [{ trait: 'evil', metric: 'delta', samples: 4, mean: 1, p50: 1, p90: 3, p99: 3, threshold: 2.5, thresholdRule: 'a fixed value', flagged: 1, shareFlagged: 0.25 }],
      samples: [1, 2, 3, 4].map((line) => ({ kind: 'scored', index: line - 1, startLine: line, endLine: line, turn: 0, format: 'messages', hash: String(line), responseTokens: 3, scores: { evil: { projection: line, fastDelta: line / 2, delta: line === 3 ? 3 : 0.5 } } })) as never,
    };
    const p = openPanel(async () => ({}), { results: new Map([[doc.uri.toString(), result]]) });
    mock.emitters.activeEditor.fire(new FakeEditor(doc));
    const dataset = p.panel.posted.filter((m) => m.type === 'dataset').at(-1);
    assert.ok(dataset?.type === 'dataset' && dataset.view);
    assert.deepEqual(dataset.view, datasetView(doc.uri.toString(), file, result));
    assert.deepEqual(dataset.view.samples.map((s) => s.values[0]), [0.5, 0.5, 3, 0.5]);
    // Focus moves to the panel (no active editor): the view stays; a results change re-posts it.
    mock.emitters.activeEditor.fire(undefined);
    p.screeningChanged.fire();
    assert.equal(p.panel.posted.filter((m) => m.type === 'dataset').length, 1, 'unchanged results are not re-sent');
    await p.panel.send({ type: 'revealLines', uri: doc.uri.toString(), ranges: [{ startLine: 3, endLine: 3 }, { startLine: 1, endLine: 9 }] });
    const shown = mock.shown.at(-1)!;
    assert.equal(shown.document, doc);
    assert.deepEqual(shown.editor.selections.map((s) => { const r = s as { start: { line: number }; end: { line: number; character: number } }; return [r.start.line, r.end.line, r.end.character]; }), [[2, 2, 7], [0, 3, 7]], 'clamped to the file');
    assert.equal(shown.editor.revealed.length, 1);
    const count = mock.shown.length;
    await p.panel.send({ type: 'revealLines', uri: 'file:///other.jsonl', ranges: [{ startLine: 1, endLine: 1 }] });
    assert.equal(mock.shown.length, count, 'never another file');
    p.results.delete(doc.uri.toString());
    p.screeningChanged.fire();
    assert.deepEqual(p.panel.posted.at(-1), { type: 'dataset', view: undefined });
    p.close();
  });

  it('showShiftReport: opens the panel and posts the report (valid, NaN scores as null) with the Shift tab selected; again on ready, then without reveal', async () => {
    const { engine } = fakeEngine(async () => ({}));
    const created: FakeWebviewPanel[] = [];
    (vscode.window as unknown as { createWebviewPanel: () => FakeWebviewPanel }).createWebviewPanel = () => {
      const panel = new FakeWebviewPanel();
      created.push(panel);
      open.push(panel);
      return panel;
    };
    const context = { extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined }, subscriptions: [] };
    const services = { engine: engine as never, log: { appendLine: () => undefined } as never, screening: { result: () => undefined, onDidChangeCodeLenses: new vscode.EventEmitter<void>().event } as never };
    // What the engine's `shift` returns for the organism's plain evil fine-tune; the sycophancy judge scored nothing.
    const evil = { trait: 'evil', layer: 3, shift: 5.888, randomShift: 1.566, perLayer: [0, 1.28, 3.87, 5.89, 6.69, 1.44], perLayerRandom: [0, 0.89, 1.23, 1.57, 1.86, 0.52], activationChange: 11.4, base: { trait: 0, coherence: 100 }, tuned: { trait: 40, coherence: 100 } };
    const syc = { ...evil, trait: 'sycophantic', layer: 4, shift: -0.4, base: { trait: NaN, coherence: 100 }, tuned: { trait: NaN, coherence: 99 } };
    const report: ShiftReport = { base: '/m/organism', tuned: '/m/organism-finetuned/plain', questions: 20, traits: [evil, syc] };
    PersonaLensPanel.showShiftReport(context as never, services, report);
    assert.equal(created.length, 1, 'no panel was open: one is created');
    const panel = created[0];
    const shifts = () => panel.posted.filter((m) => m.type === 'shiftReport');
    assert.equal(shifts().length, 1);
    const posted = shifts()[0];
    assert.deepEqual(parseHostToPanel(JSON.parse(JSON.stringify(posted))), posted, 'a valid panel message, also after JSON');
    assert.ok(posted.type === 'shiftReport' && posted.reveal, 'selects the Shift tab');
    assert.deepEqual(posted.report.traits[0], evil);
    assert.deepEqual(posted.report.traits[1].base, { trait: null, coherence: 100 }, 'NaN (nothing scored) is sent as null');
    assert.equal(posted.report.tuned, report.tuned);
    // The webview finishes loading: it gets the report again (the first post may have come before it listened).
    await panel.send({ type: 'ready' });
    assert.deepEqual(panel.posted.map((m) => m.type).slice(-4), ['engineStatus', 'vectors', 'dataset', 'shiftReport']);
    assert.deepEqual(shifts()[1], posted);
    // Later reloads (the panel hidden and shown again) restore the report without switching tabs.
    await panel.send({ type: 'ready' });
    assert.deepEqual(shifts()[2], { ...posted, reveal: false });
    // A second comparison while the panel is open and visible: the same panel, revealed, the new report selected.
    panel.visible = true;
    const second: ShiftReport = { ...report, tuned: '/m/organism-finetuned/steered', traits: [{ ...evil, shift: 0.9, tuned: { trait: 2, coherence: 98 } }], judgeNote: undefined };
    PersonaLensPanel.showShiftReport(context as never, services, second);
    assert.equal(created.length, 1, 'the open panel is reused');
    assert.equal(panel.revealed, 1);
    const latest = shifts().at(-1)!;
    assert.ok(latest.type === 'shiftReport' && latest.reveal && latest.report.tuned === second.tuned && latest.report.traits[0].shift === 0.9);
    assert.ok(parseHostToPanel(latest));
    assert.equal('judgeNote' in (latest as { report: object }).report, false);
    await panel.send({ type: 'ready' });
    assert.deepEqual(shifts().at(-1), { ...latest, reveal: false }, 'it was live: a later ready does not switch tabs');
    panel.dispose();
  });
});
