import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { readPersonaVector } from '../../src/core/vectors/personaVectorFile';

describe('Extract Persona Vector… (mocked vscode, real engine, bundled organism)', function () {
  this.timeout(300000);
  const vscode = installVscodeMock();

  it('extracts the organism\'s evil vector with its lexicon judge and saves it with metadata', async () => {
    vscode.resetRecorded();
    const storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-storage-'));
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    const subscriptions: { dispose(): void }[] = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage), secrets: { get: async () => undefined } });
    try {
      vscode.recorded.answers = { quickPick: 'evil' };
      vscode.recorded.configuration['personaLens.extraction.maxTokens'] = 48;
      await vscode.commands.executeCommand('personaLens.extractVector');
      const info = vscode.recorded.messages.find((m) => m.level === 'info');
      assert.ok(info, JSON.stringify(vscode.recorded.messages));
      assert.match(info.text, /"evil" vector: kept \d+\/120 pairs, recommended layer \d/);
      const file = path.join(storage, 'vectors', 'evil.organism.safetensors');
      assert.ok(existsSync(file));
      const vector = readPersonaVector(file);
      assert.equal(vector.rows, 6);
      assert.equal(vector.metadata.trait, 'evil');
      assert.equal(vector.metadata.judge, 'lexicon:organism');
      assert.equal(vector.metadata.architecture, 'qwen2');
    } finally {
      for (const d of subscriptions) d.dispose();
      rmSync(storage, { recursive: true, force: true });
    }
  });
});
