import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { writeRandomCheckpoint } from '../helpers/randomCheckpoint';
import { writeGgufModel } from '../helpers/ggufModelFile';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';

describe('Select Model… (mocked vscode, real engine process)', function () {
  this.timeout(60000);
  const vscode = installVscodeMock();
  let subscriptions: { dispose(): void }[];
  let storage: string;

  beforeEach(() => {
    vscode.resetRecorded();
    storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-storage-'));
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    subscriptions = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage) });
  });
  afterEach(() => {
    for (const d of subscriptions) d.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  it('validates a chosen folder in the engine and saves it in personaLens.modelPath', async () => {
    const rc = writeRandomCheckpoint({ architecture: 'llama', vocab: 128256, hidden: 16, heads: 2, kvHeads: 1 });
    try {
      vscode.recorded.answers = { quickPick: 'Choose a local checkpoint folder…', openDialog: rc.dir };
      await vscode.commands.executeCommand('personaLens.selectModel');
      assert.equal(vscode.recorded.configuration['personaLens.modelPath'], rc.dir);
      const info = vscode.recorded.messages.find((m) => m.level === 'info');
      assert.match(info?.text ?? '', /llama, 2 layers, d=16/);
    } finally {
      rmSync(rc.dir, { recursive: true, force: true });
    }
  });

  it('validates a chosen GGUF file in the engine and saves it', async () => {
    const rc = writeRandomCheckpoint({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, layers: 1, tied: true });
    const file = writeGgufModel(rc.dir, path.join(storage, 'tiny.gguf'));
    try {
      vscode.recorded.answers = { quickPick: 'Choose a GGUF file…', openDialog: file };
      await vscode.commands.executeCommand('personaLens.selectModel');
      assert.equal(vscode.recorded.configuration['personaLens.modelPath'], file);
      const info = vscode.recorded.messages.find((m) => m.level === 'info');
      assert.match(info?.text ?? '', /GGUF qwen2, 1 layers, d=16/);
    } finally {
      rmSync(rc.dir, { recursive: true, force: true });
    }
  });

  it('offers the models of the local Ollama store and saves the chosen one as ollama:NAME:TAG', async () => {
    const rc = writeRandomCheckpoint({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, layers: 1, tied: true });
    const root = path.join(storage, 'ollama');
    const saved = process.env.OLLAMA_MODELS;
    try {
      const bytes = readFileSync(writeGgufModel(rc.dir, path.join(storage, 'for-ollama.gguf')));
      const digest = createHash('sha256').update(bytes).digest('hex');
      mkdirSync(path.join(root, 'blobs'), { recursive: true });
      writeFileSync(path.join(root, 'blobs', `sha256-${digest}`), bytes);
      mkdirSync(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'tiny'), { recursive: true });
      writeFileSync(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'tiny', 'q8'), JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}`, size: bytes.length }] }));
      // The extension host lists the store itself; the engine it forks inherits the variable and opens the model.
      process.env.OLLAMA_MODELS = root;
      vscode.recorded.answers = { quickPick: 'ollama:tiny:q8' };
      await vscode.commands.executeCommand('personaLens.selectModel');
      assert.equal(vscode.recorded.configuration['personaLens.modelPath'], 'ollama:tiny:q8');
      assert.match(vscode.recorded.messages.find((m) => m.level === 'info')?.text ?? '', /ollama:tiny:q8: GGUF qwen2/);
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_MODELS;
      else process.env.OLLAMA_MODELS = saved;
      rmSync(rc.dir, { recursive: true, force: true });
    }
  });

  it('refuses a folder of pickle weights with a message that says why, and keeps the setting', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-pickle-'));
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 10 }));
      writeFileSync(path.join(dir, 'pytorch_model.bin'), 'not really a pickle');
      vscode.recorded.answers = { quickPick: 'Choose a local checkpoint folder…', openDialog: dir };
      await vscode.commands.executeCommand('personaLens.selectModel');
      assert.equal(vscode.recorded.configuration['personaLens.modelPath'], undefined);
      const error = vscode.recorded.messages.find((m) => m.level === 'error');
      assert.match(error?.text ?? '', /only pickle weights \(pytorch_model\.bin\).*never unpickles/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable hub clearly (no network here)', async () => {
    vscode.recorded.answers = { quickPick: 'Download from the Hugging Face hub…', inputBox: 'Qwen/Qwen2.5-0.5B-Instruct' };
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
    try {
      await vscode.commands.executeCommand('personaLens.selectModel');
    } finally {
      delete process.env.HF_ENDPOINT;
    }
    const error = vscode.recorded.messages.find((m) => m.level === 'error');
    assert.match(error?.text ?? '', /Could not reach http:\/\/127\.0\.0\.1:9 to download Qwen\/Qwen2\.5-0\.5B-Instruct/);
  });
});
