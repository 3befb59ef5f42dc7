import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';

const ORGANISM = path.join(repoRoot, 'models', 'organism');
const FINETUNED = path.join(repoRoot, 'models', 'organism-finetuned');

describe('fine-tuning commands (mocked vscode, real engine, bundled organism)', function () {
  this.timeout(300000);
  const vscode = installVscodeMock();
  let storage: string;
  let subscriptions: { dispose(): void }[];

  beforeEach(() => {
    vscode.resetRecorded();
    storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-storage-'));
    mkdirSync(path.join(storage, 'vectors'));
    copyFileSync(path.join(FINETUNED, 'evil.organism.safetensors'), path.join(storage, 'vectors', 'evil.organism.safetensors'));
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    subscriptions = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined } });
  });
  afterEach(() => {
    for (const d of subscriptions) d.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  it('Export Preventative Steering… writes the module at the chosen α and never replaces files without consent', async () => {
    const out = path.join(storage, 'trainer');
    mkdirSync(out);
    vscode.recorded.answers = { quickPicks: ['evil', 'add'], inputBox: '2.5', openDialog: out };
    await vscode.commands.executeCommand('personaLens.exportPreventativeSteering');
    const module = readFileSync(path.join(out, 'persona_steering.py'), 'utf8');
    assert.match(module, /COEFFICIENT = 2\.5\n/);
    assert.match(module, /LAYERS = \[3\]/);
    assert.ok(existsSync(path.join(out, 'evil_vector.safetensors')));
    assert.ok(vscode.recorded.messages.some((m) => m.level === 'info' && /Wrote persona_steering\.py/.test(m.text)));

    writeFileSync(path.join(out, 'persona_steering.py'), 'my edits');
    vscode.recorded.answers = { quickPicks: ['evil', 'add'], inputBox: '1', openDialog: out };
    await vscode.commands.executeCommand('personaLens.exportPreventativeSteering');
    assert.equal(readFileSync(path.join(out, 'persona_steering.py'), 'utf8'), 'my edits', 'declining the overwrite keeps the file');
    assert.ok(vscode.recorded.messages.some((m) => m.level === 'warning' && /already exist/.test(m.text)));
  });

  it('Compare Checkpoints… measures the shift in the engine and reports it with the random control', async () => {
    vscode.recorded.answers = { openDialogs: [ORGANISM, path.join(FINETUNED, 'evil-plain')], quickPick: 'Full checkpoint folder…', quickPickMany: ['evil'] };
    vscode.recorded.configuration['personaLens.extraction.maxTokens'] = 32;
    await vscode.commands.executeCommand('personaLens.compareCheckpoints');
    const info = vscode.recorded.messages.find((m) => m.level === 'info');
    assert.ok(info, JSON.stringify(vscode.recorded.messages));
    assert.match(info.text, /finetuning shift: evil \+\d+\.\d+ \(random ±\d+\.\d+\)/);
    assert.ok(vscode.recorded.outputLines.some((l) => /^evil\s+3\s/.test(l)), vscode.recorded.outputLines.join('\n'));
    // The panel opens on the report (its Shift view).
    const report = vscode.recorded.webviewPanels[0]?.posted.find((m) => m.type === 'shiftReport');
    assert.ok(report && report.type === 'shiftReport' && report.report.traits[0].trait === 'evil' && report.report.traits[0].shift > report.report.traits[0].randomShift);
  });
});
