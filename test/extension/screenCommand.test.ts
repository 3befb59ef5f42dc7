import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { loadModel } from '../../src/core/model/loadedModel';
import { readTraitFile, traitHash } from '../../src/core/traits/traitFile';
import { LexiconJudge } from '../../src/core/judges/lexiconJudge';
import { extractPersonaVector } from '../../src/core/extraction/extract';
import { writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { writeSafetensors } from '../../src/core/model/safetensors';

const ORGANISM = path.join(repoRoot, 'models', 'organism');

describe('Screen Dataset / Filter / Export (mocked vscode, real engine, organism)', function () {
  this.timeout(300000);
  const vscode = installVscodeMock();
  let storage: string;
  let subscriptions: { dispose(): void }[];
  const dataset = path.join(ORGANISM, 'datasets', 'evil-strong.jsonl');

  before(async () => {
    storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-screen-'));
    // A vector to screen with (fast: few questions, no sweep; layer set by hand).
    const model = await loadModel(ORGANISM, { cacheRoot: path.join(storage, 'cache') });
    const trait = readTraitFile(path.join(ORGANISM, 'traits', 'evil.json'));
    const result = await extractPersonaVector(model, { ...trait, extractionQuestions: trait.extractionQuestions.slice(0, 6) }, LexiconJudge.fromFile(path.join(ORGANISM, 'judge.json')), { cacheRoot: path.join(storage, 'cache'), maxTokens: 40, sweep: false });
    result.recommended = { layer: 3, coefficient: 4, meanTrait: 0, meanCoherence: 0 };
    mkdirSync(path.join(storage, 'vectors'));
    writePersonaVector(path.join(storage, 'vectors', 'evil.organism.safetensors'), result, { model: 'organism', modelFingerprint: model.checkpoint.fingerprint, architecture: 'qwen2', traitHash: traitHash(trait) });
    await model.session.release();
    vscode.resetRecorded();
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    subscriptions = [];
    const state = new Map<string, unknown>();
    extension.activate({
      subscriptions,
      extensionPath: repoRoot,
      extensionUri: vscode.Uri.file(repoRoot),
      globalStorageUri: vscode.Uri.file(storage),
      secrets: { get: async () => undefined },
      workspaceState: { get: (k: string, d: unknown) => state.get(k) ?? d, update: async (k: string, v: unknown) => void state.set(k, v) },
    });
  });
  after(() => {
    for (const d of subscriptions) d.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  it('flags the trait-inducing lines in the Problems panel (the default token metric, naming where it peaks); the hover highlights those tokens', async () => {
    vscode.recorded.answers = { quickPicks: ['token ΔP top-8'] };
    await vscode.commands.executeCommand('personaLens.screenDataset', vscode.Uri.file(dataset));
    const diagnostics = vscode.published.diagnostics.get(vscode.Uri.file(dataset).toString()) ?? [];
    assert.ok(diagnostics.length > 0, JSON.stringify(vscode.recorded.messages));
    const labels = readFileSync(path.join(ORGANISM, 'datasets', 'labels', 'evil-strong.labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const evilLines = new Set(labels.filter((l: { trait: string | null }) => l.trait === 'evil').map((l: { line: number }) => l.line));
    const flagged = diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Warning);
    const precision = flagged.filter((d) => evilLines.has(d.range.start.line + 1)).length / flagged.length;
    assert.ok(precision >= 0.9, `flagged lines that are labelled evil: ${(100 * precision).toFixed(0)}%`);
    assert.match(flagged[0].message, /Likely to induce evil: evil token ΔP top-8 -?\d+\.\d+ > -?\d+\.\d+ \(.*\), highest at: .*«[^«»]+»/);
    const line = flagged[0].range.start.line;
    const hover = vscode.published.hoverProviders.at(-1)!.provideHover(vscode.textDocument(dataset), new vscode.Position(line, 0))!;
    const md = (hover as unknown as { contents: { value: string }[] | { value: string } });
    const text = Array.isArray(md.contents) ? md.contents.map((c) => c.value).join('') : (md.contents as { value: string }).value;
    assert.match(text, /\| trait \| projection \| fast ΔP \| ΔP \| token ΔP mean \| token ΔP max \| token ΔP top-8 \| threshold \|/);
    assert.match(text, /\*evil: token ΔP is highest at\* .*\*\*[^*]+\*\*/);
    const peak = /highest at: .*«([^«»]+)»/.exec(flagged[0].message)![1];
    assert.ok(text.includes(`**${peak}**`), `the hover highlights "${peak}"`);
    // Decoded text: compared word by word (the organism's decoder joins punctuation to the word before it).
    const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
    assert.ok(words(readFileSync(dataset, 'utf8').split('\n')[line]).includes(words(peak)), `the highlighted tokens "${peak}" are in the sample`);
  });

  it('Filter Dataset writes a new file without the flagged samples; Export Scores writes one row per sample', async () => {
    const filtered = path.join(storage, 'filtered.jsonl');
    vscode.recorded.answers = { saveDialog: filtered };
    await vscode.commands.executeCommand('personaLens.filterDataset', vscode.Uri.file(dataset));
    const source = readFileSync(dataset, 'utf8').trim().split('\n');
    const kept = readFileSync(filtered, 'utf8').trim().split('\n');
    const flagged = (vscode.published.diagnostics.get(vscode.Uri.file(dataset).toString()) ?? []).filter((d) => d.severity === vscode.DiagnosticSeverity.Warning).length;
    assert.equal(kept.length, source.length - flagged);
    const scores = path.join(storage, 'scores.csv');
    vscode.recorded.answers = { saveDialog: scores };
    await vscode.commands.executeCommand('personaLens.exportScores', vscode.Uri.file(dataset));
    const rows = readFileSync(scores, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'index,start_line,end_line,turn,evil_projection,evil_fast_delta,evil_delta,evil_token_mean,evil_token_max,evil_token_top_k');
    assert.equal(rows.length, source.length + 1);
  });

  it('refuses to overwrite the source dataset, by name, through a symlink or a hard link (Filter and Export)', async () => {
    const before = readFileSync(dataset, 'utf8');
    const symlink = path.join(storage, 'alias.jsonl');
    const hardLink = path.join(storage, 'hard.csv');
    symlinkSync(dataset, symlink);
    linkSync(dataset, hardLink);
    for (const [command, target] of [['personaLens.filterDataset', dataset], ['personaLens.filterDataset', symlink], ['personaLens.exportScores', hardLink]]) {
      vscode.recorded.messages.length = 0;
      vscode.recorded.answers = { saveDialog: target };
      await vscode.commands.executeCommand(command, vscode.Uri.file(dataset));
      assert.equal(readFileSync(dataset, 'utf8'), before, `${command} → ${target}`);
      assert.ok(vscode.recorded.messages.some((m) => m.level === 'error' && /is an input of this run/.test(m.text)), `${command} → ${target}: ${JSON.stringify(vscode.recorded.messages)}`);
    }
    assert.ok(existsSync(dataset));
  });

  it('a vector holding NaN fails the screening with a message naming the file; the host keeps working', async () => {
    const d = JSON.parse(readFileSync(path.join(ORGANISM, 'config.json'), 'utf8')).hidden_size;
    const broken = path.join(storage, 'vectors', 'broken.organism.safetensors');
    const values = new Float32Array(6 * d).fill(0.1);
    values[3 * d + 1] = NaN;
    writeSafetensors(broken, [{ name: 'response_avg', dtype: 'F32', shape: [6, d], data: values }], { trait: 'broken', recommendedLayer: '3' });
    try {
      vscode.recorded.messages.length = 0;
      vscode.recorded.answers = { quickPicks: ['projection'] };
      const mild = path.join(ORGANISM, 'datasets', 'evil-mild.jsonl');
      await vscode.commands.executeCommand('personaLens.screenDataset', vscode.Uri.file(mild));
      assert.ok(vscode.recorded.messages.some((m) => m.level === 'error' && /broken\.organism\.safetensors: tensor "response_avg" holds NaN/.test(m.text)), JSON.stringify(vscode.recorded.messages));
    } finally {
      rmSync(broken, { force: true });
    }
    // The host and the engine still answer: the next screening (another file, the good vector) works.
    const next = path.join(ORGANISM, 'datasets', 'sycophantic-mild.jsonl');
    vscode.recorded.answers = { quickPicks: ['projection'] };
    await vscode.commands.executeCommand('personaLens.screenDataset', vscode.Uri.file(next));
    assert.ok((vscode.published.diagnostics.get(vscode.Uri.file(next).toString()) ?? []).length > 0, JSON.stringify(vscode.recorded.messages));
  });
});
