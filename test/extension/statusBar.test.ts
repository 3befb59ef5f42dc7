/** The status-bar item (issue 21): shows the extension is there, the model in use and the engine's state; opens the panel. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';

describe('status bar (mocked vscode)', () => {
  const vscode = installVscodeMock();

  it('shows the model in use, follows personaLens.modelPath, and opens the panel on click', async () => {
    vscode.resetRecorded();
    const storage = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-statusbar-'));
    const subscriptions: { dispose(): void }[] = [];
    try {
      const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
      const before = vscode.statusBarItems.length;
      extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot), globalStorageUri: vscode.Uri.file(storage) });
      const item = vscode.statusBarItems[before];
      assert.ok(item?.shown, 'shown at activation');
      assert.equal(item.command, 'personaLens.openPanel');
      assert.match(item.text, /organism \(bundled\)/);
      assert.match(item.tooltip ?? '', /model organism \(bundled\) \(not loaded\) · engine stopped/);
      await vscode.workspace.getConfiguration('personaLens').update('modelPath', 'ollama:qwen2.5:7b');
      assert.match(item.text, /ollama:qwen2\.5:7b/, 'follows the setting');
      await vscode.workspace.getConfiguration('personaLens').update('modelPath', '/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf');
      assert.match(item.text, /Qwen2\.5-7B-Instruct-Q4_K_M\.gguf/);
      // The held model counts as the selected one only on the device setting's device, so a device change redraws
      // the item as the panel's engine card does (seen here as a redraw over a stale text).
      item.text = 'stale';
      await vscode.workspace.getConfiguration('personaLens').update('engine.device', 'cpu');
      assert.match(item.text, /Qwen2\.5-7B-Instruct-Q4_K_M\.gguf/, 'redrawn when personaLens.engine.device changes');
      for (const d of subscriptions) d.dispose();
      assert.ok(item.disposed, 'disposed with the extension');
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });
});
