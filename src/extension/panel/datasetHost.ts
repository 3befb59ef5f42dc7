/**
 * The Dataset view's host side: the followed editor's screening results (or, while another editor is active, the
 * last screened file shown) as metric values per sample and trait, and revealing the lines the user clicks.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { ScreenResult } from '../../protocol/engineProtocol';
import type { DatasetView, LineRange } from '../../protocol/panelProtocol';
import { metricValue } from '../../core/screening/summary';
import type { LastTextEditor } from './lastTextEditor';
import type { PostToPanel } from './panelDeps';

/** Screening results per document (ScreeningView), and a signal whenever any file's results change. */
export interface ScreenedFiles {
  result(uri: vscode.Uri): ScreenResult | undefined;
  readonly onDidChangeResults: vscode.Event<void>;
}

/** Most selections one click makes (a histogram bar of a huge file). */
export const MAX_REVEALED_RANGES = 2000;

/** The view's data for one screened file. Pure (tested without VS Code). */
export function datasetView(uri: string, fileName: string, result: ScreenResult): DatasetView {
  const traits = result.summaries.map((s) => ({ trait: s.trait, threshold: s.threshold, flagged: s.flagged }));
  return {
    uri,
    file: path.basename(fileName),
    metric: result.metric,
    traits,
    samples: result.samples.map((s) => ({ startLine: s.startLine, endLine: s.endLine, values: traits.map((t) => metricValue(s, t.trait, result.metric)) })),
  };
}

export class DatasetPanel implements vscode.Disposable {
  private shown: { document: vscode.TextDocument; viewColumn?: vscode.ViewColumn; result: ScreenResult } | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly post: PostToPanel, private readonly editors: LastTextEditor, private readonly screened: ScreenedFiles) {
    this.disposables = [editors.onDidChangeEditor(() => this.update()), screened.onDidChangeResults(() => this.update())];
  }

  /** Posts the view when the file shown or its results changed (`force`: always, e.g. when the panel asks). */
  update(force = false): void {
    const editor = this.editors.editor;
    const active = editor && this.screened.result(editor.document.uri);
    let next = this.shown;
    if (editor && active) next = { document: editor.document, viewColumn: editor.viewColumn, result: active };
    else if (this.shown) {
      const still = this.screened.result(this.shown.document.uri);
      next = still ? { ...this.shown, result: still } : undefined;
    }
    if (!force && next?.document === this.shown?.document && next?.result === this.shown?.result) return;
    this.shown = next;
    this.post({ type: 'dataset', view: next && datasetView(next.document.uri.toString(), next.document.fileName, next.result) });
  }

  /** Selects the ranges in the screened file's editor and scrolls to the first; only in the file the view shows. */
  async reveal(uri: string, ranges: LineRange[]): Promise<void> {
    const shown = this.shown;
    if (!shown || shown.document.uri.toString() !== uri) return;
    const document = shown.document;
    const last = document.lineCount - 1;
    const selections = ranges.slice(0, MAX_REVEALED_RANGES).map((r) => {
      const start = Math.min(Math.max(0, r.startLine - 1), last);
      const end = Math.min(Math.max(start, r.endLine - 1), last);
      return new vscode.Selection(start, 0, end, document.lineAt(end).text.length);
    });
    const options = { viewColumn: shown.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false };
    // A document closed since it was screened cannot be shown again as an object; its uri reopens it.
    const editor = document.isClosed ? await vscode.window.showTextDocument(document.uri, options) : await vscode.window.showTextDocument(document, options);
    editor.selections = selections;
    editor.revealRange(selections[0], vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
