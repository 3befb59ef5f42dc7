/**
 * The text editor the Monitor and Dataset views follow. Focusing the panel makes `activeTextEditor` undefined, so
 * this remembers the last real one (files and untitled documents; not output channels or other panels).
 */
import * as vscode from 'vscode';

const usable = (editor: vscode.TextEditor | undefined): editor is vscode.TextEditor => editor !== undefined && ['file', 'untitled'].includes(editor.document.uri.scheme);

export class LastTextEditor implements vscode.Disposable {
  private current: vscode.TextEditor | undefined;
  private readonly editorEmitter = new vscode.EventEmitter<void>();
  private readonly contentEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.editorEmitter, this.contentEmitter];
  /** Another editor became the one followed (or it was closed). */
  readonly onDidChangeEditor = this.editorEmitter.event;
  /** The followed editor's text or selection changed. */
  readonly onDidChangeContent = this.contentEmitter.event;

  constructor() {
    this.current = usable(vscode.window.activeTextEditor) ? vscode.window.activeTextEditor : undefined;
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (!usable(editor) || editor === this.current) return;
        this.current = editor;
        this.editorEmitter.fire();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === this.current) this.contentEmitter.fire();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.current?.document && e.contentChanges.length) this.contentEmitter.fire();
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (document !== this.current?.document) return;
        this.current = undefined;
        this.editorEmitter.fire();
      }),
    );
  }

  get editor(): vscode.TextEditor | undefined {
    return this.current;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
