/**
 * Shows screening results in the editor: gutter heat marks and overview-ruler marks (theme colours from
 * package.json), Problems-panel diagnostics for flagged samples and unreadable lines, hovers with every trait's
 * scores, the tokens where token ΔP peaks (highlighted in the answer) and the model's own answer, and a summary
 * CodeLens.
 */
import * as vscode from 'vscode';
import type { ScreenResult } from '../../protocol/engineProtocol';
import { HEAT_LEVELS, metricLabel, sampleViews, summaryLine, type SampleView } from './screeningState';
import { metricValue } from '../../core/screening/summary';
import { turnsOf } from '../../core/datasets/sampleShapes';
import { SCREEN_METRICS, metricKey } from '../../core/screening/metrics';
import { peakText } from '../../core/monitoring/tokenProjections';

export class ScreeningView implements vscode.Disposable, vscode.HoverProvider, vscode.CodeLensProvider {
  private readonly results = new Map<string, { result: ScreenResult; views: SampleView[] }>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('persona-lens');
  private readonly heat: vscode.TextEditorDecorationType[];
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;

  constructor(extensionUri: vscode.Uri) {
    this.heat = Array.from({ length: HEAT_LEVELS }, (_, i) =>
      vscode.window.createTextEditorDecorationType({
        gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', `heat-${i + 1}.svg`),
        gutterIconSize: 'contain',
        overviewRulerColor: new vscode.ThemeColor(`personaLens.heat${i + 1}`),
        overviewRulerLane: vscode.OverviewRulerLane.Right,
        ...(i + 1 === HEAT_LEVELS ? { backgroundColor: new vscode.ThemeColor('personaLens.flaggedLineBackground'), isWholeLine: true } : {}),
      }),
    );
  }

  result(uri: vscode.Uri): ScreenResult | undefined {
    return this.results.get(uri.toString())?.result;
  }

  show(document: vscode.TextDocument, result: ScreenResult): void {
    const views = sampleViews(result);
    this.results.set(document.uri.toString(), { result, views });
    const diagnostics: vscode.Diagnostic[] = [];
    for (const v of views) {
      if (!v.flaggedTraits.length) continue;
      const detail = v.flaggedTraits.map((t) => {
        const s = result.summaries.find((x) => x.trait === t)!;
        const peak = v.sample.peaks?.[t]?.length ? `, highest at: ${peakText(v.sample.peaks[t])}` : '';
        return `${t} ${metricLabel(result.metric)} ${metricValue(v.sample, t, result.metric).toFixed(2)} > ${s.threshold.toFixed(2)} (${s.thresholdRule})${peak}`;
      });
      const d = new vscode.Diagnostic(lineRange(document, v.sample.startLine, v.sample.endLine), `Likely to induce ${v.flaggedTraits.join(', ')}: ${detail.join('; ')}`, vscode.DiagnosticSeverity.Warning);
      d.source = 'Persona Lens';
      d.code = v.flaggedTraits[0];
      diagnostics.push(d);
    }
    for (const issue of result.issues) {
      const d = new vscode.Diagnostic(lineRange(document, issue.startLine, issue.endLine), issue.message, vscode.DiagnosticSeverity.Information);
      d.source = 'Persona Lens';
      diagnostics.push(d);
    }
    this.diagnostics.set(document.uri, diagnostics);
    this.decorate();
    this.lensChanged.fire();
  }

  clear(uri: vscode.Uri): void {
    this.results.delete(uri.toString());
    this.diagnostics.delete(uri);
    this.decorate();
    this.lensChanged.fire();
  }

  /** Applies heat marks to every visible editor that has results. */
  decorate(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const entry = this.results.get(editor.document.uri.toString());
      this.heat.forEach((type, i) => {
        const ranges = entry ? entry.views.filter((v) => v.heat === i + 1).map((v) => lineRange(editor.document, v.sample.startLine, v.sample.startLine)) : [];
        editor.setDecorations(type, ranges);
      });
    }
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const entry = this.results.get(document.uri.toString());
    const line = position.line + 1;
    const views = entry?.views.filter((v) => v.sample.startLine <= line && line <= v.sample.endLine);
    if (!entry || !views?.length) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    for (const v of views) {
      const lines = v.sample.endLine > v.sample.startLine ? `lines ${v.sample.startLine}–${v.sample.endLine}` : `line ${v.sample.startLine}`;
      md.appendMarkdown(`**Persona Lens** · ${lines}${v.sample.turn ? `, turn ${v.sample.turn}` : ''} · metric ${metricLabel(entry.result.metric)}\n\n`);
      const shown = SCREEN_METRICS;
      md.appendMarkdown(`| trait | ${shown.map(metricLabel).join(' | ')} | threshold |\n|---|${shown.map(() => '---|').join('')}---|\n`);
      for (const s of entry.result.summaries) {
        const m = v.sample.scores[s.trait];
        const flag = v.flaggedTraits.includes(s.trait) ? ' ⚠' : '';
        md.appendMarkdown(`| ${s.trait}${flag} | ${shown.map((metric) => m[metricKey(metric)]?.toFixed(3) ?? '–').join(' | ')} | ${s.threshold.toFixed(3)} |\n`);
      }
      md.appendMarkdown('\n');
      for (const s of entry.result.summaries) md.appendMarkdown(`*${s.trait} threshold*: ${s.thresholdRule}${s.thresholdNotice ? ` — ${s.thresholdNotice}` : ''}\n\n`);
      for (const s of entry.result.summaries) {
        const segments = v.sample.peaks?.[s.trait];
        if (!segments?.length) continue;
        // The highlighted tokens are the ones token ΔP pooled (the highest first): where the trait is expressed.
        md.appendMarkdown(`*${s.trait}: token ΔP is highest at* `);
        for (const seg of segments) {
          if (seg.peak && seg.text.trim()) {
            md.appendMarkdown(' **');
            md.appendText(seg.text.trim());
            md.appendMarkdown('** ');
          } else md.appendText(seg.text);
        }
        md.appendMarkdown('\n\n');
      }
      if (v.sample.ownResponse !== undefined) {
        const datasetAnswer = datasetResponse(document, v.sample.startLine, v.sample.endLine, v.sample.turn);
        md.appendMarkdown('\n**Dataset answer**\n\n');
        md.appendText(truncate(datasetAnswer ?? '(unavailable)'));
        md.appendMarkdown('\n\n**The model\'s own answer**\n\n');
        md.appendText(truncate(v.sample.ownResponse));
      }
    }
    return new vscode.Hover(md);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const entry = this.results.get(document.uri.toString());
    if (!entry) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: summaryLine(entry.result), command: 'personaLens.openPanel' }),
      new vscode.CodeLens(top, { title: 'Filter Dataset…', command: 'personaLens.filterDataset', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: 'Export Scores…', command: 'personaLens.exportScores', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: 'Rescreen', command: 'personaLens.screenDataset', arguments: [document.uri] }),
    ];
  }

  dispose(): void {
    this.diagnostics.dispose();
    for (const h of this.heat) h.dispose();
    this.lensChanged.dispose();
  }
}

function lineRange(document: vscode.TextDocument, startLine: number, endLine: number): vscode.Range {
  const last = Math.min(endLine, document.lineCount) - 1;
  return new vscode.Range(Math.max(0, startLine - 1), 0, Math.max(0, last), document.lineAt(Math.max(0, last)).text.length);
}

function datasetResponse(document: vscode.TextDocument, startLine: number, endLine: number, turn: number): string | undefined {
  const lines: string[] = [];
  for (let l = startLine; l <= endLine; l++) lines.push(document.lineAt(l - 1).text);
  try {
    return turnsOf(JSON.parse(lines.join('\n').replace(/,\s*$/, '')), 'all').turns[turn]?.response;
  } catch {
    return undefined;
  }
}

function truncate(text: string, max = 600): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
