/** Where persona vectors live: the workspace's .persona/vectors and the extension's global storage. */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';

export function vectorFiles(context: vscode.ExtensionContext): string[] {
  const folders = [
    ...(vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, '.persona', 'vectors')),
    path.join(context.globalStorageUri.fsPath, 'vectors'),
  ];
  return folders.flatMap((f) => (existsSync(f) ? readdirSync(f).filter((n) => n.endsWith('.safetensors')).map((n) => path.join(f, n)) : []));
}

/**
 * Calls `onChange` (debounced) when a vector file appears, changes or goes away in either folder, so an extraction
 * finished while the panel is open shows up in its Vectors and Monitor views without reopening it.
 */
export function watchVectorFiles(context: vscode.ExtensionContext, onChange: () => void, delayMs = 200): vscode.Disposable {
  const patterns = [
    ...(vscode.workspace.workspaceFolders ?? []).map((f) => new vscode.RelativePattern(f, '.persona/vectors/*.safetensors')),
    new vscode.RelativePattern(vscode.Uri.joinPath(context.globalStorageUri, 'vectors'), '*.safetensors'),
  ];
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, delayMs);
  };
  const disposables: vscode.Disposable[] = [];
  for (const pattern of patterns) {
    const watcher = vscode.workspace.createFileSystemWatcher(pattern);
    disposables.push(watcher, watcher.onDidCreate(changed), watcher.onDidChange(changed), watcher.onDidDelete(changed));
  }
  return { dispose: () => {
    clearTimeout(timer);
    for (const d of disposables) d.dispose();
  } };
}
