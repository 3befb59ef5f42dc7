/**
 * The engine's state in the extension (issue 21), against the real engine process and the mocked `vscode`: the
 * "Persona Lens" log channel gets the engine's log (start, each request and how it ended, a line per progress phase,
 * model loads, failures), and the panel's engine card the loaded model's name, architecture, precision and size.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { parseHostToPanel, type HostToPanel, type PanelModel } from '../../src/protocol/panelProtocol';
import type { ModelEvent } from '../../src/protocol/engineProtocol';

describe('engine log and engine card (mocked vscode, real engine)', function () {
  this.timeout(120000);
  const vscode = installVscodeMock();
  const organism = path.join(repoRoot, 'models', 'organism');
  let storage: string;
  beforeEach(() => {
    vscode.resetRecorded();
    storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-engine-state-'));
  });
  afterEach(() => rmSync(storage, { recursive: true, force: true }));

  it('Show Log\'s channel: the engine\'s start, the request with one line for its 20 progress ticks, and its end', async () => {
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    const subscriptions: { dispose(): void }[] = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage) });
    try {
      assert.equal(vscode.recorded.outputLines.length, 0, 'activation logs nothing and starts no engine');
      await vscode.commands.executeCommand('personaLens.engineSelfCheck');
      const lines = vscode.recorded.outputLines;
      assert.match(lines[0], /^\[engine\] started: pid \d+, Persona Lens \d+\.\d+\.\d+, Node \d+/);
      const tag = lines.map((l) => /^(\[selfCheck #\d+\]) started$/.exec(l)?.[1]).find((t): t is string => t !== undefined);
      assert.ok(tag, lines.join('\n'));
      const ofRequest = lines.filter((l) => l.startsWith(`${tag} `));
      assert.equal(ofRequest.length, 3, `started, one progress line, done: ${ofRequest.join(' | ')}`);
      assert.equal(ofRequest[1], `${tag} run 1/20`, 'the phase is logged when it begins, not at every tick');
      assert.match(ofRequest[2], /^\[selfCheck #\d+\] done after \d+\.\d s$/);
    } finally {
      for (const d of subscriptions) d.dispose();
    }
  });

  it('model loads and failures reach the log; the engine card shows the loaded model and its state, then not loaded after a restart', async () => {
    const { EngineHost } = require('../../src/extension/engineHost') as typeof import('../../src/extension/engineHost');
    const { PersonaLensPanel } = require('../../src/extension/panel') as typeof import('../../src/extension/panel');
    const channel = vscode.window.createOutputChannel('Persona Lens');
    const engine = new EngineHost(repoRoot, channel as never);
    const models: (ModelEvent | undefined)[] = [];
    const statuses: string[] = [];
    engine.onDidChangeModel((m) => models.push(m));
    engine.onDidChangeStatus((s) => statuses.push(s));
    const context = { extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined }, subscriptions: [] };
    try {
      PersonaLensPanel.show(context as never, { engine, log: channel as never, screening: { result: () => undefined, onDidChangeCodeLenses: new vscode.EventEmitter<void>().event } as never });
      const panel = vscode.recorded.webviewPanels.at(-1)!;
      const cards = () => panel.posted.filter((m): m is Extract<HostToPanel, { type: 'engineStatus' }> => m.type === 'engineStatus');
      await panel.send({ type: 'ready' });
      assert.deepEqual(cards().at(-1), { type: 'engineStatus', status: 'stopped', model: { label: 'organism (bundled)', state: 'not loaded' } });

      const summary = await engine.request('loadModel', { modelPath: organism, cacheRoot: path.join(storage, 'cache') });
      assert.deepEqual(models.map((m) => m?.state), ['loading', 'loaded']);
      assert.deepEqual(statuses, ['busy', 'ready']);
      const card = cards().at(-1)!;
      // Where it runs depends on the machine (auto): a device name and auto's reason, shown while it is loaded.
      const { device, ...shown } = card.model!;
      assert.ok(device && ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'].includes(device.name) && device.reason.startsWith('auto: '), JSON.stringify(device));
      assert.deepEqual(device, { name: summary.device?.device, reason: summary.device?.reason }, 'the card shows the device the engine resolved');
      const expected: PanelModel = {
        label: 'organism (bundled)',
        state: 'loaded',
        details: { architecture: 'qwen2', format: 'safetensors', precision: 'f32', parameters: summary.parameters, bytes: summary.requiredBytes, layers: 5, hiddenSize: summary.hiddenSize },
      };
      assert.deepEqual({ ...card, model: shown }, { type: 'engineStatus', status: 'ready', model: expected });
      assert.ok(summary.parameters > 1e5 && summary.requiredBytes > summary.parameters * 4, `${summary.parameters} parameters, ${summary.requiredBytes} bytes at f32`);
      assert.deepEqual(parseHostToPanel(JSON.parse(JSON.stringify(card))), card, 'a valid panel message');
      const log = () => vscode.recorded.outputLines.join('\n');
      assert.match(log(), new RegExp(`\\[model\\] loading ${organism.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(weights: auto\\)…`));
      assert.match(log(), /\[model\] loaded organism: qwen2, 5 layers, d=\d+, [\d.]+ M parameters \(~[\d.]+ MiB at f32\) in \d+\.\d s/);
      assert.ok(log().includes(`s, on ${device.name} (${device.reason})`), 'the log says where the model runs and why');
      assert.match(log(), /\[loadModel #1\] done after \d+\.\d s/);

      const missing = path.join(storage, 'no-such-model');
      await assert.rejects(engine.request('loadModel', { modelPath: missing }));
      assert.match(log(), /\[model\] released .*organism/);
      assert.match(log(), new RegExp(`\\[model\\] could not load ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*is not a folder`));
      assert.match(log(), /\[loadModel #2\] failed after \d+\.\d s: .*no-such-model/);
      assert.equal(engine.model?.state, 'failed', 'the engine holds no model now: the last one failed');
      assert.equal(cards().at(-1)!.model?.state, 'not loaded', 'the selected organism is no longer loaded');
      assert.deepEqual(cards().at(-1)!.model?.details, expected.details, 'what the engine said of it is still shown');

      engine.restart();
      assert.equal(engine.model, undefined);
      assert.deepEqual(cards().at(-1), { type: 'engineStatus', status: 'stopped', model: { ...expected, state: 'not loaded' } });
      assert.match(log(), /\[engine\] stopped by the user/);
      panel.dispose();
    } finally {
      engine.dispose();
    }
  });

  it('personaLens.engine.device reaches the engine: the model runs where it says, and a device the build lacks is an error', async () => {
    const { EngineHost } = require('../../src/extension/engineHost') as typeof import('../../src/extension/engineHost');
    const { engineModelOptions } = require('../../src/extension/modelSelection') as typeof import('../../src/extension/modelSelection');
    const channel = vscode.window.createOutputChannel('Persona Lens');
    const engine = new EngineHost(repoRoot, channel as never);
    const context = { extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined }, subscriptions: [] };
    try {
      vscode.recorded.configuration['personaLens.engine.device'] = 'cpu';
      const options = engineModelOptions(context as never);
      assert.equal(options.device, 'cpu');
      const summary = await engine.request('loadModel', { modelPath: organism, ...options });
      assert.deepEqual(summary.device, { device: 'cpu', reason: 'cpu chosen' });
      assert.deepEqual(engine.model?.state === 'loaded' ? engine.model.summary.device : undefined, { device: 'cpu', reason: 'cpu chosen' }, 'the model event carries it to the host');
      // DirectML is only in the Windows build, CoreML only in macOS's.
      vscode.recorded.configuration['personaLens.engine.device'] = process.platform === 'win32' ? 'coreml' : 'dml';
      const absent = engineModelOptions(context as never).device;
      await assert.rejects(engine.request('loadModel', { modelPath: organism, ...engineModelOptions(context as never) }), new RegExp(`Device ${absent}: ${absent} is not in this platform's onnxruntime-node build`));
    } finally {
      engine.dispose();
    }
  });
});
