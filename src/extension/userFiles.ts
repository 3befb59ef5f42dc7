/**
 * The extension's file writes go through core's one output path (src/core/io/userFiles.ts): an output that is one
 * of the command's inputs (by inode or real path, so symlinks and hard links too) is refused, and the bytes are
 * renamed into place only when complete. Failures become an error message; the host never throws on them.
 */
import * as vscode from 'vscode';
import { checkOutputs, writeFileAtomic } from '../core/io/userFiles';

/** Writes `data` to `target`; false (after telling the user why) when refused or failed. */
export function writeUserFile(target: vscode.Uri, data: string | Uint8Array, ...inputs: vscode.Uri[]): boolean {
  if (target.scheme !== 'file') {
    void vscode.window.showErrorMessage(`Persona Lens writes local files only; ${target.toString()} is not one. Choose a file on this machine.`);
    return false;
  }
  try {
    checkOutputs([{ label: 'output', path: target.fsPath }], inputs.filter((u) => u.scheme === 'file').map((u) => ({ label: 'source file', path: u.fsPath })));
    writeFileAtomic(target.fsPath, data);
    return true;
  } catch (err) {
    void vscode.window.showErrorMessage(`Persona Lens: ${(err as Error).message}`);
    return false;
  }
}
