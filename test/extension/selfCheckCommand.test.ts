import assert from 'node:assert/strict';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';

describe('self-check command through the real engine process (mocked vscode)', function () {
  this.timeout(60000);
  const vscode = installVscodeMock();

  it('forks the engine on first use and reports the result to the user', async () => {
    vscode.resetRecorded();
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    const subscriptions: { dispose(): void }[] = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot) });
    try {
      await vscode.commands.executeCommand('personaLens.engineSelfCheck');
      const info = vscode.recorded.messages.find((m) => m.level === 'info');
      assert.ok(info, `expected an info message, got ${JSON.stringify(vscode.recorded.messages)}`);
      assert.match(info.text, /Persona Lens engine OK \(onnxruntime 1\.30\.0 on (cpu|webgpu|cuda|dml|coreml)\)/);
    } finally {
      for (const d of subscriptions) d.dispose();
    }
  });
});
