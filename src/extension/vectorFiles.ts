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
