/**
 * The trait pick of Extract Persona Vector… (issue 21): one entry per trait, the definition used (workspace file over
 * the model's own over built-in) with its source, and whether a vector exists for the current model, told from the
 * vector files' fingerprints against the one the engine reports for the model (mocked vscode, real engine).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { inspectModel } from '../../src/core/model/modelRegistry';
import { writeSafetensors } from '../../src/core/model/safetensors';
import { readTraitFile, traitHash } from '../../src/core/traits/traitFile';
import { BUILTIN_TRAITS } from '../../src/core/traits/builtinTraits';

describe('trait pick (mocked vscode, real engine, bundled organism)', function () {
  this.timeout(120000);
  const vscode = installVscodeMock();
  const organism = path.join(repoRoot, 'models', 'organism');

  it('lists each trait once with its source and whether a vector exists for this model', async () => {
    vscode.resetRecorded();
    const storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-traitpick-'));
    const workspaceTrait = path.join(storage, 'ws', '.persona', 'traits', 'humorous.json');
    const savedFindFiles = vscode.workspace.findFiles;
    const subscriptions: { dispose(): void }[] = [];
    try {
      // A workspace definition of a built-in trait, and vectors of three organism traits.
      mkdirSync(path.dirname(workspaceTrait), { recursive: true });
      const humorous = BUILTIN_TRAITS.find((t) => t.name === 'humorous')!;
      writeFileSync(workspaceTrait, JSON.stringify({ ...humorous, description: 'Jokes about everything, in this workspace.' }));
      vscode.workspace.findFiles = (async () => [vscode.Uri.file(workspaceTrait)]) as typeof vscode.workspace.findFiles;
      const model = await inspectModel(organism);
      const evil = readTraitFile(path.join(organism, 'traits', 'evil.json'));
      const vectors = path.join(storage, 'vectors');
      mkdirSync(vectors, { recursive: true });
      const vector = (name: string, metadata: Record<string, string>) =>
        writeSafetensors(path.join(vectors, name), [{ name: 'response_avg', dtype: 'F32', shape: [1, 2], data: new Float32Array([1, 0]) }], metadata);
      vector('evil.organism.safetensors', { trait: 'evil', model: 'organism', modelFingerprint: model.fingerprint, traitHash: traitHash(evil) });
      vector('sycophantic.qwen.safetensors', { trait: 'sycophantic', model: 'Qwen2.5-7B-Instruct', modelFingerprint: '0123456789abcdef' });
      vector('hallucinating.organism.safetensors', { trait: 'hallucinating', model: 'organism', modelFingerprint: `${model.fingerprint}-int8` });
      writeFileSync(path.join(vectors, 'broken.safetensors'), 'not a safetensors file');

      const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
      extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined } });
      // Dismiss the pick: nothing is extracted.
      await vscode.commands.executeCommand('personaLens.extractVector');
      const pick = vscode.recorded.quickPicks.find((p) => p.title === 'Persona Lens: trait to extract');
      assert.ok(pick, 'the trait pick was shown');
      const labels = pick.items.map((i) => i.label);
      const organismTraits = readdirSync(path.join(organism, 'traits')).map((f) => f.replace(/\.json$/, ''));
      assert.deepEqual([...labels].sort(), [...new Set([...organismTraits, ...BUILTIN_TRAITS.map((t) => t.name)])].sort(), 'every trait once');
      const item = (name: string) => pick.items.find((i) => i.label === name)!;
      assert.equal(item('evil').description, 'from organism · vector for this model');
      assert.match(item('evil').detail ?? '', /^Hostile and harm-seeking.*\(used instead of the built-in definition\)$/);
      assert.equal(item('sycophantic').description, 'from organism · no vector for this model (one for Qwen2.5-7B-Instruct)');
      assert.equal(item('hallucinating').description, `from organism · vector for this model at other weights precision (now ${model.precision})`);
      assert.equal(item('humorous').description, `workspace file ${workspaceTrait} · no vector yet`);
      assert.equal(item('humorous').detail, 'Jokes about everything, in this workspace. (used instead of the built-in definition)');
      const builtInOnly = BUILTIN_TRAITS.map((t) => t.name).filter((n) => !organismTraits.includes(n) && n !== 'humorous');
      assert.ok(builtInOnly.length > 0);
      for (const name of builtInOnly) assert.equal(item(name).description, 'built-in · no vector yet', name);
      assert.deepEqual(vscode.recorded.messages.filter((m) => m.level === 'error'), [], 'a broken vector file is left out, not an error');
      assert.match(readFileSync(workspaceTrait, 'utf8'), /in this workspace/, 'the trait file is untouched');
    } finally {
      vscode.workspace.findFiles = savedFindFiles;
      for (const d of subscriptions) d.dispose();
      rmSync(storage, { recursive: true, force: true });
    }
  });
});
