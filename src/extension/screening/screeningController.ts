/**
 * Screen Dataset, Filter Dataset and Export Scores, and keeping results current: a screened file is rescreened
 * (debounced) as it is edited — the engine's cache makes unchanged samples free — and restored when reopened.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EngineHost } from '../engineHost';
import type { ScreenParams, ScreenResult } from '../../protocol/engineProtocol';
import { DEFAULT_METRIC, METRICS, SCREEN_METRICS, type ScreenMetric } from '../../core/screening/metrics';
import { currentModelPath, engineModelOptions } from '../modelSelection';
import { ScreeningView } from './screeningView';
import { filteredJsonl } from './screeningState';
import { scoreRow, scoresCsvHeader, scoresCsvRow } from '../../core/screening/scoreRows';
import { freshPath } from '../traitCommands';
import { vectorFiles } from '../vectorFiles';
import { writeUserFile } from '../userFiles';

interface ScreeningChoice {
  vectorPaths: string[];
  metric: ScreenMetric;
}

const STATE_KEY = 'personaLens.screenedFiles';
const DATASET_GLOB = /\.(jsonl|ndjson|json)$/i;

export class ScreeningController implements vscode.Disposable {
  readonly view: ScreeningView;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly context: vscode.ExtensionContext, private readonly engine: EngineHost) {
    this.view = new ScreeningView(context.extensionUri);
    const selector: vscode.DocumentSelector = [{ pattern: '**/*.{jsonl,ndjson,json}' }];
    this.disposables.push(
      this.view,
      vscode.languages.registerHoverProvider(selector, this.view),
      vscode.languages.registerCodeLensProvider(selector, this.view),
      vscode.window.onDidChangeVisibleTextEditors(() => this.view.decorate()),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e.document)),
      vscode.workspace.onDidOpenTextDocument((d) => void this.restore(d)),
    );
  }

  private remembered(): Record<string, ScreeningChoice> {
    return this.context.workspaceState.get<Record<string, ScreeningChoice>>(STATE_KEY, {});
  }

  async screenCommand(uri?: vscode.Uri): Promise<void> {
    const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!document || !DATASET_GLOB.test(document.fileName)) {
      void vscode.window.showErrorMessage('Persona Lens: open a .jsonl or .json dataset first.');
      return;
    }
    const choice = (uri && this.remembered()[document.uri.toString()]) || (await this.ask());
    if (!choice) return;
    await this.context.workspaceState.update(STATE_KEY, { ...this.remembered(), [document.uri.toString()]: choice });
    const selection = vscode.window.activeTextEditor?.document === document ? vscode.window.activeTextEditor.selection : undefined;
    const lineRange = selection && !selection.isEmpty ? { start: selection.start.line + 1, end: selection.end.line + 1 } : undefined;
    await this.run(document, choice, lineRange, true);
  }

  private async ask(): Promise<ScreeningChoice | undefined> {
    const vectors = vectorFiles(this.context);
    if (!vectors.length) {
      void vscode.window.showErrorMessage('Persona Lens: no persona vectors yet. Run "Persona Lens: Extract Persona Vector…" first.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      vectors.map((v) => ({ label: path.basename(v, '.safetensors'), description: vscode.workspace.asRelativePath(v), picked: true, file: v })),
      { title: 'Persona Lens: screen with which vectors?', canPickMany: true },
    );
    if (!picked?.length) return undefined;
    const metrics: (vscode.QuickPickItem & { metric: ScreenMetric })[] = SCREEN_METRICS.map((metric) => ({ label: METRICS[metric].label, description: `${METRICS[metric].description}${METRICS[metric].ownAnswer ? ' (generates once per prompt, cached)' : ''}`, metric }));
    const defaultMetric = vscode.workspace.getConfiguration('personaLens.screening').get<ScreenMetric>('metric', DEFAULT_METRIC);
    metrics.sort((a, b) => Number(b.metric === defaultMetric) - Number(a.metric === defaultMetric));
    const metric = await vscode.window.showQuickPick(metrics, { title: 'Persona Lens: metric' });
    return metric ? { vectorPaths: picked.map((p) => p.file), metric: metric.metric } : undefined;
  }


  private async run(document: vscode.TextDocument, choice: ScreeningChoice, lineRange: ScreenParams['lineRange'], withProgress: boolean): Promise<void> {
    const modelPath = currentModelPath(this.context.extensionPath);
    if (!modelPath) {
      void vscode.window.showErrorMessage('No model: run "Persona Lens: Select Model…" first.');
      return;
    }
    const key = document.uri.toString();
    this.running.get(key)?.abort();
    const controller = new AbortController();
    this.running.set(key, controller);
    const thresholds = vscode.workspace.getConfiguration('personaLens.screening').get<Record<string, string>>('thresholds', {});
    const params: ScreenParams = {
      modelPath,
      ...engineModelOptions(this.context),
      text: document.getText(),
      jsonArray: document.fileName.toLowerCase().endsWith('.json'),
      vectorPaths: choice.vectorPaths,
      metric: choice.metric,
      lineRange,
      turns: vscode.workspace.getConfiguration('personaLens.screening').get<'last' | 'all'>('turns', 'last'),
      thresholds,
    };
    try {
      const result = withProgress
        ? await this.engine.withProgress(`Persona Lens: screening ${path.basename(document.fileName)}`, 'screen', params)
        : await this.engine.request('screen', params, { signal: controller.signal });
      if (result) {
        this.view.show(document, result);
        // An old vector without calibration falls back to a file percentile: say so once per run.
        const notices = result.summaries.filter((s) => s.thresholdNotice).map((s) => `${s.trait}: ${s.thresholdNotice}`);
        if (notices.length && withProgress) void vscode.window.showInformationMessage(`Persona Lens: ${notices.join(' · ')}`);
      }
    } catch (err) {
      if (!controller.signal.aborted) this.engine.reportError('Persona Lens: screening', err);
    } finally {
      if (this.running.get(key) === controller) this.running.delete(key);
    }
  }

  private onEdit(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const choice = this.remembered()[key];
    if (!choice || !this.view.result(document.uri)) return;
    clearTimeout(this.timers.get(key));
    const delay = vscode.workspace.getConfiguration('personaLens.screening').get<number>('rescreenDelay', 800);
    this.timers.set(key, setTimeout(() => void this.run(document, choice, undefined, false), delay));
  }

  private async restore(document: vscode.TextDocument): Promise<void> {
    const choice = this.remembered()[document.uri.toString()];
    if (choice && !this.view.result(document.uri)) await this.run(document, choice, undefined, false);
  }

  /** The document a command acts on and its results, or undefined after telling the user to screen it first. */
  private async screened(uri?: vscode.Uri): Promise<{ document: vscode.TextDocument; result: ScreenResult } | undefined> {
    const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    const result = document && this.view.result(document.uri);
    if (document && result) return { document, result };
    void vscode.window.showErrorMessage('Persona Lens: screen this dataset first.');
    return undefined;
  }

  async filterCommand(uri?: vscode.Uri): Promise<void> {
    const screened = await this.screened(uri);
    if (!screened) return;
    const { document, result } = screened;
    if (document.fileName.toLowerCase().endsWith('.json')) {
      void vscode.window.showErrorMessage('Persona Lens: Filter Dataset writes JSONL; export scores for JSON arrays instead.');
      return;
    }
    const { text, removed } = filteredJsonl(document.getText(), result);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(freshPath(path.dirname(document.fileName), `${path.basename(document.fileName, path.extname(document.fileName))}.filtered`, '.jsonl')), title: 'Save the filtered dataset as (the source file is not changed)' });
    if (!target || !writeUserFile(target, text, document.uri)) return;
    void vscode.window.showInformationMessage(`Wrote ${vscode.workspace.asRelativePath(target)} without ${removed} flagged line(s).`);
  }

  async exportCommand(uri?: vscode.Uri): Promise<void> {
    const screened = await this.screened(uri);
    if (!screened) return;
    const { document, result } = screened;
    const base = `${path.basename(document.fileName, path.extname(document.fileName))}.scores`;
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(freshPath(path.dirname(document.fileName), base, '.jsonl')), filters: { 'JSON Lines': ['jsonl'], CSV: ['csv'] }, title: 'Export per-sample scores' });
    if (!target) return;
    const csv = target.fsPath.toLowerCase().endsWith('.csv');
    const rows = csv ? [scoresCsvHeader(result.traits), ...result.samples.map((s) => scoresCsvRow(s, result.traits))] : result.samples.map((s) => JSON.stringify(scoreRow(s)));
    if (!writeUserFile(target, rows.join('\n') + '\n', document.uri)) return;
    void vscode.window.showInformationMessage(`Exported ${result.samples.length} rows to ${vscode.workspace.asRelativePath(target)}.`);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const c of this.running.values()) c.abort();
    for (const d of this.disposables) d.dispose();
  }
}
